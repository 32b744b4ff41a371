// Test people, made for each run and loaded through the documented import command, so specs never share a phone
// (codes are rate limited per phone) and never depend on the demo accounts.

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const SURNAMES = '赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许';
const GIVEN = '伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平';

function idNumber(seq: number): string {
  const month = String((seq % 12) + 1).padStart(2, '0');
  const body = `210202198${seq % 10}${month}15${String(seq % 1000).padStart(3, '0')}`;
  const sum = [...body].reduce((acc, d, i) => acc + Number(d) * WEIGHTS[i], 0);
  return body + '10X98765432'[sum % 11];
}

function luhn(payload: string): string {
  let sum = 0;
  [...payload].reverse().forEach((c, i) => {
    let d = Number(c);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  });
  return payload + String((10 - (sum % 10)) % 10);
}

export interface Person {
  name: string;
  idNumber: string;
  card: string;
  /** A second active card, for 解除绑定 then re-linking. */
  newCard: string;
  /** A cancelled card of the same person. */
  cancelledCard: string;
  phone: string;
  /** The one vehicle bound to `card`. */
  plate: string;
  /** An untreated red-light record (6 points, 200 yuan) that can be processed online. */
  payableRecord: string;
  /** An untreated drink-driving record that must be handled at the counter. */
  counterRecord: string;
  /** For the OVERDUE_SLOT and GUEST_SLOT people only: a 100-yuan decision made 20 days before today (5 days overdue). */
  overdueDecision: string;
}

/** Person `n` (0 ≤ n < 400): deterministic, so every worker computes the same data. */
export function person(n: number): Person {
  const seq = 100 + n;
  return {
    name: SURNAMES[n % 20] + GIVEN[Math.floor(n / 20) % 20],
    idNumber: idNumber(seq),
    card: luhn(`622201${String(seq).padStart(9, '0')}`),
    newCard: luhn(`622202${String(seq).padStart(9, '0')}`),
    cancelledCard: luhn(`622203${String(seq).padStart(9, '0')}`),
    phone: `1390411${String(seq).padStart(4, '0')}`,
    plate: `辽BT${String(seq).padStart(4, '0')}`,
    payableRecord: `E2E${seq}A`,
    counterRecord: `E2E${seq}B`,
    overdueDecision: `2102${String(seq).padStart(12, '0')}`,
  };
}

export const PEOPLE = 400;

/** The cards.csv that loads every test person. */
export function cardsCsv(): string {
  const rows = ['card_no,id_number,name,phone,status'];
  for (let n = 0; n < PEOPLE; n++) {
    const p = person(n);
    rows.push(`${p.card},${p.idNumber},${p.name},${p.phone},active`);
    rows.push(`${p.newCard},${p.idNumber},${p.name},${p.phone},active`);
    rows.push(`${p.cancelledCard},${p.idNumber},${p.name},${p.phone},cancelled`);
  }
  return rows.join('\n') + '\n';
}

/** 审验学习 slots: an eligible B2 driver with nothing untreated, and one person per ineligible case. */
export const STUDY_SLOT = 60;
export const STUDY_CASES: { slot: number; licence: string; message: RegExp }[] = [
  { slot: 61, licence: 'C1,normal,3', message: /您的准驾车型为C1/ },
  { slot: 62, licence: 'B2,normal,0', message: /没有记分，无需参加审验学习/ },
  { slot: 63, licence: 'B1,normal,9', message: /超过8分.*交通警察大队/ },
  { slot: 64, licence: 'A2,suspended,3', message: /驾驶证状态为“暂扣”/ },
];

/** drivers.csv: a normal C1 licence with no points, except for the 审验学习 people. */
export function driversCsv(): string {
  const rows = ['id_number,name,licence_class,licence_status,first_issued,cycle_points'];
  for (let n = 0; n < PEOPLE; n++) {
    const p = person(n);
    const slot = n % 100;
    const licence =
      slot === STUDY_SLOT ? 'B2,normal,3' : (STUDY_CASES.find((c) => c.slot === slot)?.licence ?? 'C1,normal,0');
    const [cls, status, points] = licence.split(',');
    rows.push(`${p.idNumber},${p.name},${cls},${status},2010-05-20,${points}`);
  }
  return rows.join('\n') + '\n';
}

/**
 * vehicles.csv: one car per person, bound to the person's first card since before its records (a card holder sees
 * only what occurred since the binding); each applicant's car on no card.
 */
export function vehiclesCsv(): string {
  const rows = ['plate,plate_type,vehicle_type,owner_id_number,card_no,bound_on'];
  for (let n = 0; n < PEOPLE; n++) {
    const p = person(n);
    rows.push(`${p.plate},02,小型轿车,${p.idNumber},${p.card},2025-01-01`);
  }
  for (let n = 0; n < APPLICANTS; n++) {
    const a = applicant(n);
    rows.push(`${a.plate},02,小型轿车,${a.idNumber},,`);
  }
  return rows.join('\n') + '\n';
}

/** The spec slots whose people also have an overdue decision; others have none, so their fine lists start empty. */
export const OVERDUE_SLOT = 44;
export const GUEST_SLOT = 45;

/** The Asia/Shanghai date `days` days before today, YYYY-MM-DD. */
function shanghaiDate(daysAgo: number): string {
  return new Date(Date.now() + 8 * 3600_000 - daysAgo * 86_400_000).toISOString().slice(0, 10);
}

/** violations.csv: a payable red light, a counter-only drink-driving record and an overdue decision per car. */
export function violationsCsv(): string {
  const rows = [
    'record_no,plate,plate_type,occurred_at,location,code,behaviour,points,fine_yuan,counter_only,decision_no,decided_on,party_id_number,paid',
  ];
  for (let n = 0; n < PEOPLE; n++) {
    const p = person(n);
    // The study-eligible driver has nothing untreated or unpaid, so the certificate can be issued.
    if (n % 100 === STUDY_SLOT) continue;
    rows.push(`${p.payableRecord},${p.plate},02,2026-11-01 08:15,中山路与五四路交叉口,1625,驾驶机动车违反道路交通信号灯通行的,6,200,0,,,,0`);
    rows.push(`${p.counterRecord},${p.plate},02,2026-11-02 23:40,黄河路与西安路交叉口,1711,饮酒后驾驶机动车的,12,1500,1,,,,0`);
    if (n % 100 !== OVERDUE_SLOT && n % 100 !== GUEST_SLOT) continue;
    rows.push(
      `E2E${100 + n}C,${p.plate},02,${shanghaiDate(30)} 10:00,人民路,1039,机动车违反规定停放、临时停车且驾驶人不在现场的,0,100,0,${p.overdueDecision},${shanghaiDate(20)},${p.idNumber},0`,
    );
  }
  return rows.join('\n') + '\n';
}

/** The password of the console accounts e2e-bank, e2e-police and e2e-auditor that global setup creates. */
export const STAFF_PASSWORD = 'e2e-staff-password-2026';

/** Someone applying for a traffic service card (申办交通服务卡): no card yet, one car of their own on no card. */
export interface Applicant {
  name: string;
  idNumber: string;
  phone: string;
  /** The applicant's own car, which 批准制卡 puts on the new card. */
  plate: string;
  /** A car the applicant declares but another test person owns, which stays where it is. */
  othersPlate: string;
}

export const APPLICANTS = 100;

/** Applicant `n` (0 ≤ n < 100): deterministic, and apart from the people above (their own ID range and phones). */
export function applicant(n: number): Applicant {
  const body = `2102041991${String((n % 12) + 1).padStart(2, '0')}${String((n % 28) + 1).padStart(2, '0')}${String(n).padStart(3, '0')}`;
  const sum = [...body].reduce((acc, d, i) => acc + Number(d) * WEIGHTS[i], 0);
  return {
    name: SURNAMES[n % 20] + GIVEN[(n * 7) % 20] + '申',
    idNumber: body + '10X98765432'[sum % 11],
    phone: `1390499${String(n).padStart(4, '0')}`,
    plate: `辽BS${String(n).padStart(4, '0')}`,
    othersPlate: person(n).plate,
  };
}
