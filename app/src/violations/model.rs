//! Violation views shared by the server and the browser; personal data is already masked.

use serde::{Deserialize, Serialize};

use crate::identity::model::{Channel, Flash};

/// A vehicle bound to the viewer's card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoundVehicle {
    pub plate: String,
    pub plate_type: String,
    pub plate_type_label: String,
    pub vehicle_type: String,
    /// The owner's masked name (or masked ID number when the owner is not a known driver).
    pub owner: String,
    /// Binding date, Asia/Shanghai.
    pub bound_on: String,
    /// Untreated records on the vehicle.
    pub untreated: i64,
}

/// `/violations`: the 使用须知 until agreed, then the card's vehicles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViolationsHomeData {
    pub channel: Channel,
    pub agreed: bool,
    pub vehicles: Vec<BoundVehicle>,
}

/// One violation record as listed and detailed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordView {
    pub record_no: String,
    pub plate: String,
    pub plate_type: String,
    /// Local time, Asia/Shanghai, YYYY-MM-DD HH:MM.
    pub occurred_at: String,
    pub location: String,
    pub code: String,
    pub behaviour: String,
    pub points: i64,
    /// Yuan with two decimals.
    pub fine: String,
    /// Why it cannot be processed online, if it cannot.
    pub refusal: Option<String>,
}

/// A vehicle's untreated records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VehicleRecordsData {
    pub channel: Channel,
    pub vehicle: BoundVehicle,
    pub records: Vec<RecordView>,
}

/// What the drawn sketch and the record page say when the police's image store has no photo of a record.
pub const NO_PHOTO: &str = "示意图：该记录暂无现场照片";

/// A record's details with the processing form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordPageData {
    pub channel: Channel,
    pub record: RecordView,
    /// Whether the police's image store has the record's photo; without it the page shows the drawn sketch.
    pub photo: bool,
    /// The decision, once processed.
    pub decision_no: Option<String>,
    pub flash: Flash,
}

/// A penalty decision and what is owed on it today.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionView {
    pub decision_no: String,
    pub record_no: String,
    pub plate: String,
    pub behaviour: String,
    pub points: i64,
    pub fine: String,
    pub late_fee: String,
    pub total: String,
    /// The total in fen, for the payment confirmation.
    pub total_fen: i64,
    pub decided_on: String,
    pub due_date: String,
    /// Days until the due date; negative once overdue.
    pub days_left: i64,
    pub paid: bool,
    /// The processing driver's masked name.
    pub party: String,
}

/// `/violations/decision`: the result of processing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionPageData {
    pub channel: Channel,
    pub decision: DecisionView,
    pub flash: Flash,
}

/// `/vehicles`: 已绑定车辆信息.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VehiclesPageData {
    pub channel: Channel,
    pub card: String,
    pub vehicles: Vec<BoundVehicle>,
    pub flash: Flash,
}

/// `/fines`: 交通罚款缴纳, the decisions left to pay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinesPageData {
    pub channel: Channel,
    pub decisions: Vec<DecisionView>,
    /// Receipt and decision numbers of fines already paid from this account.
    pub receipts: Vec<(String, String)>,
}
