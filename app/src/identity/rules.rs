//! 实名认证's pure rules: whether the account's current link stands in the way, whether a card on file lets the
//! details typed link to it, and what a refusal may say.

/// A card's status in the bank's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardStatus {
    /// In use: 实名认证 may link to it.
    Active,
    /// Cancelled by the bank (lost, replaced): links to it give nothing.
    Cancelled,
    /// Issued from an application and waiting at the branch until the holder's ID card is checked (确认领卡).
    PendingPickup,
}

impl CardStatus {
    /// The code stored in `cards.status`.
    pub fn code(self) -> &'static str {
        match self {
            CardStatus::Active => "active",
            CardStatus::Cancelled => "cancelled",
            CardStatus::PendingPickup => "pending_pickup",
        }
    }

    /// Reads a stored code.
    pub fn parse(code: &str) -> Option<Self> {
        [CardStatus::Active, CardStatus::Cancelled, CardStatus::PendingPickup].into_iter().find(|s| s.code() == code)
    }
}

/// A card as the bank's data holds it.
#[derive(Debug, Clone, Copy)]
pub struct CardOnFile<'a> {
    pub id_number: &'a str,
    pub name: &'a str,
    pub phone: &'a str,
    pub status: &'a str,
}

/// What 实名认证 typed, besides the card number that found the card.
#[derive(Debug, Clone, Copy)]
pub struct Claim<'a> {
    pub id_number: &'a str,
    pub name: &'a str,
    pub phone: &'a str,
}

/// Why a card does not link. The person who asks has a valid code for a phone of their own, so a stranger may be
/// asking: which detail is wrong, or whether a card is someone else's, is never said, and the card's state only to
/// whoever typed its holder's details.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CardRefusal {
    #[error("交通服务卡卡号、姓名、身份证号或手机号与办卡登记信息不一致，请核对后重试")]
    Mismatch,
    #[error("该交通服务卡已注销，不能用于实名认证")]
    Cancelled,
    #[error("该交通服务卡尚未领取，请携带本人身份证到领卡网点领卡后再进行实名认证")]
    NotCollected,
}

/// Whether `claim` may link to `card` (none when the number is unknown).
pub fn check_card(card: Option<CardOnFile<'_>>, claim: Claim<'_>) -> Result<(), CardRefusal> {
    let card = card.ok_or(CardRefusal::Mismatch)?;
    if (card.id_number, card.name, card.phone) != (claim.id_number, claim.name, claim.phone) {
        return Err(CardRefusal::Mismatch);
    }
    match CardStatus::parse(card.status) {
        Some(CardStatus::Active) => Ok(()),
        Some(CardStatus::Cancelled) => Err(CardRefusal::Cancelled),
        Some(CardStatus::PendingPickup) => Err(CardRefusal::NotCollected),
        None => Err(CardRefusal::Mismatch),
    }
}

/// The account's open link, as the bank's data judges it now.
#[derive(Debug, Clone, Copy)]
pub struct OpenLink<'a> {
    pub card_no: &'a str,
    /// The card is still active and still the linked person's.
    pub holds: bool,
}

/// The account already has a link that holds: it must be unbound before another card is linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlreadyLinked;

/// Whether a new link may be made beside the account's open one; `Ok(Some(card_no))` names a link that has lapsed
/// (its card cancelled or now another person's) and is to be closed as the new one is made.
pub fn lapsed_link(open: Option<OpenLink<'_>>) -> Result<Option<&str>, AlreadyLinked> {
    match open {
        Some(link) if link.holds => Err(AlreadyLinked),
        Some(link) => Ok(Some(link.card_no)),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLAIM: Claim<'static> = Claim { id_number: "210202198503122018", name: "张三", phone: "13804110001" };

    fn card(status: &'static str) -> CardOnFile<'static> {
        CardOnFile { id_number: CLAIM.id_number, name: CLAIM.name, phone: CLAIM.phone, status }
    }

    #[test]
    fn an_active_card_with_every_detail_matching_links() {
        assert_eq!(check_card(Some(card("active")), CLAIM), Ok(()));
    }

    #[test]
    fn an_unknown_card_and_each_wrong_detail_get_one_and_the_same_answer() {
        let other_id = CardOnFile { id_number: "210203199007184026", ..card("active") };
        let other_name = CardOnFile { name: "张四", ..card("active") };
        let other_phone = CardOnFile { phone: "13904110009", ..card("active") };
        for case in [None, Some(other_id), Some(other_name), Some(other_phone)] {
            assert_eq!(check_card(case, CLAIM), Err(CardRefusal::Mismatch), "{case:?}");
        }
    }

    #[test]
    fn a_cards_state_is_told_only_to_someone_who_typed_its_holders_details() {
        assert_eq!(check_card(Some(card("cancelled")), CLAIM), Err(CardRefusal::Cancelled));
        assert_eq!(check_card(Some(card("pending_pickup")), CLAIM), Err(CardRefusal::NotCollected));
        let stranger = Claim { id_number: "210203199007184026", ..CLAIM };
        assert_eq!(check_card(Some(card("cancelled")), stranger), Err(CardRefusal::Mismatch));
        assert_eq!(check_card(Some(card("pending_pickup")), stranger), Err(CardRefusal::Mismatch));
    }

    #[test]
    fn a_link_that_holds_stands_in_the_way_and_a_lapsed_one_is_named_for_closing() {
        assert_eq!(lapsed_link(None), Ok(None));
        assert_eq!(lapsed_link(Some(OpenLink { card_no: "6222000011112222", holds: true })), Err(AlreadyLinked));
        assert_eq!(
            lapsed_link(Some(OpenLink { card_no: "6222000011112222", holds: false })),
            Ok(Some("6222000011112222"))
        );
    }

    #[test]
    fn statuses_round_trip_through_their_codes() {
        for status in [CardStatus::Active, CardStatus::Cancelled, CardStatus::PendingPickup] {
            assert_eq!(CardStatus::parse(status.code()), Some(status));
        }
        assert_eq!(CardStatus::parse("frozen"), None);
    }
}
