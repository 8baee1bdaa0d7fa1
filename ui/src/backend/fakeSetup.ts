// The fake backend's bus set-up: a connected fake drive's set-up steps (new ID, new rate,
// reboot, factory reset), checked the way the bus checks them (link/setup.rs) with the
// same words, and the guided "one servo at a time" assignment on fake ports no link holds
// (engine api/setup.rs).
//
// The fake ports: `/dev/ttyFAKE-SETUP` is a bench where servos are connected one at a
// time. It starts with a factory-fresh XM430 (ID 1, 57600 baud) connected; each servo set
// up is put aside and the next factory-fresh one takes its place (as if the user swapped
// them), four spares in all. A scan of the port sees the servos set up so far (the bus
// with all of them chained, as after "Finish"). `/dev/ttyFAKE-TWO` has two servos
// connected at once (IDs 1 and 2): the assignment refuses it.
import type { AssignDone, AssignRequest, DriveRef, DriveView, FoundDrive, ResetKeep, SetupDone, SetupProtocol, SetupStep } from './types';
import { BAUD_RATES, MODBUS_SETUP_NOTE, SETUP_PROTOCOLS } from './types';

/** A servo on a fake port no link holds. */
export type FakeServo = { protocol: SetupProtocol; model: string; id: number; baud: number };

/** A fake port for the guided set-up: the servos connected now, the ones set up and put
 * aside, and how many factory-fresh ones are still to be connected after these. */
export type FakeSetupPort = { connected: FakeServo[]; setUp: FakeServo[]; spares: number };

/** The factory settings of the fake's XM430: ID 1 at 57600 baud. */
const FACTORY: FakeServo = { protocol: 'dynamixel2', model: 'XM430-W350', id: 1, baud: 57_600 };
export const FAKE_SETUP_PORT = '/dev/ttyFAKE-SETUP';
export const FAKE_TWO_SERVOS_PORT = '/dev/ttyFAKE-TWO';

/** The rates a servo is looked for at: the protocol's usual ones first, then the rest. */
const USUAL: Record<SetupProtocol, number[]> = {
  dynamixel2: [57_600, 1_000_000, 115_200, 2_000_000, 3_000_000, 4_000_000],
  dynamixel1: [1_000_000, 57_600, 115_200],
  feetech: [1_000_000, 500_000, 115_200],
};
export function searchRates(protocol: SetupProtocol): number[] {
  return [...USUAL[protocol], ...BAUD_RATES[protocol].filter((r) => !USUAL[protocol].includes(r))];
}

/** What the fake set-up needs of the rest of the fake backend. */
export type FakeBus = {
  /** The connected drives, the fake's own (mutable) entries. */
  drives(): DriveView[];
  /** Adds a finished set-up job to the journal; its ID. `drive` is null for a servo of
   * the guided set-up (its own short-lived link is not one of the fake's). */
  journal(command: SetupStep['step'], drive: DriveRef | null, reason: string): number;
  /** A drive moved to another ID: its registers follow it. */
  moved(from: DriveRef, to: DriveRef): void;
  /** A drive was reset: its registers go back to the factory values. */
  reset(drive: DriveRef): void;
  /** The ports open on a link, with the link's ID. */
  heldPorts(): { port: string; link: number }[];
};

const refused = (kind: string, message: string) => ({ kind, message });

export class FakeSetup {
  /** The fake's link rates (link 1, the simulated rig, starts at 1 Mbaud). */
  private readonly linkBauds = new Map<number, number>([[1, 1_000_000]]);
  /** The fake ports no link holds (tests reach in to change them). */
  readonly ports = new Map<string, FakeSetupPort>([
    [FAKE_SETUP_PORT, { connected: [{ ...FACTORY }], setUp: [], spares: 4 }],
    [FAKE_TWO_SERVOS_PORT, { connected: [{ ...FACTORY }, { ...FACTORY, id: 2 }], setUp: [], spares: 0 }],
  ]);
  /** Every assignment asked for, refused or not (tests). */
  readonly assigns: AssignRequest[] = [];

  constructor(private readonly bus: FakeBus) {}

  linkBaud(link: number): number {
    return this.linkBauds.get(link) ?? 1_000_000;
  }

  /** A set-up step on a connected drive. Refusals are what the link's checks say (the
   * engine reports a failed set-up job as a link error). */
  setupDrive(ref: DriveRef, step: SetupStep): SetupDone {
    const drives = this.bus.drives();
    const drive = drives.find((d) => d.drive.link === ref.link && d.drive.id === ref.id);
    if (!drive) throw refused('notFound', `drive ${ref.id} is not connected`);
    const id = ref.id;
    const fail = (message: string) => refused('link', message);
    if (drive.enabled) throw fail(`disable drive ${id} first: set-up steps are made with torque off`);
    const linkBaud = this.linkBaud(ref.link);
    const others = drives.filter((d) => d.drive.link === ref.link && d.drive.id !== id).map((d) => d.drive.id);
    let to = { id, baud: linkBaud };
    let reason: string;
    switch (step.step) {
      case 'changeId':
        if (!(Number.isInteger(step.to) && step.to >= 0 && step.to <= 252)) {
          throw fail(`ID ${step.to} is not an ID a dynamixel2 drive can have (0 – 252)`);
        }
        if (step.to === id) throw fail(`drive ${id} already has ID ${step.to}`);
        to = { id: step.to, baud: linkBaud };
        reason = `ID ${id} → ${step.to}`;
        break;
      case 'changeBaud':
        if (!BAUD_RATES.dynamixel2.includes(step.baud)) {
          throw fail(`a dynamixel2 drive cannot run at ${step.baud} baud; it can at ${BAUD_RATES.dynamixel2.join(', ')}`);
        }
        if (step.baud === linkBaud) throw fail(`drive ${id} is already at ${step.baud} baud`);
        to = { id, baud: step.baud };
        reason = `${linkBaud} → ${step.baud} baud`;
        break;
      case 'reboot':
        if (!step.confirm) {
          throw fail(`rebooting drive ${id} needs confirmation (confirm: true): it restarts with torque off and its RAM settings back to their defaults`);
        }
        reason = 'rebooted';
        break;
      case 'factoryReset':
        if (!step.confirm) {
          throw fail(`a factory reset of drive ${id} needs confirmation (confirm: true): every setting goes back to the factory value`);
        }
        to = {
          id: step.keep === 'nothing' ? FACTORY.id : id,
          baud: step.keep === 'idAndBaud' ? linkBaud : FACTORY.baud,
        };
        reason = `factory reset (${keepText(step.keep)})`;
        break;
    }
    if (to.id !== id && others.includes(to.id)) throw fail(`ID ${to.id} is taken: drive ${to.id} is on this link; nothing was sent`);
    if (to.baud !== linkBaud && others.length > 0) {
      throw fail(`this link carries drives ${[...others, id].join(', ')}: moving drive ${id} to ${to.baud} baud would leave the others at ${linkBaud}; connect it alone (set-up, one drive at a time)`);
    }
    const job = this.bus.journal(step.step, ref, reason);
    if (step.step === 'reboot' || step.step === 'factoryReset') {
      // Torque off, the goal at the present position.
      drive.target = null;
      if (step.step === 'factoryReset') this.bus.reset(ref);
    }
    const now = { link: ref.link, id: to.id };
    if (now.id !== id) {
      drive.drive = now;
      this.bus.moved(ref, now);
    }
    this.linkBauds.set(ref.link, to.baud);
    return { job, drive: { ...now }, baud: to.baud };
  }

  /** One servo of the guided set-up, checked and worded as the engine does. */
  setupAssign(request: AssignRequest): AssignDone {
    this.assigns.push({ ...request });
    const name = request.protocol;
    if (name === 'modbus-rtu') throw refused('invalid', MODBUS_SETUP_NOTE);
    const protocol = SETUP_PROTOCOLS.find((p) => p === name);
    if (!protocol) throw refused('invalid', `unknown protocol "${name}"`);
    const port = request.port.trim();
    if (port === '') throw refused('invalid', 'give the serial port the servo is on');
    if (!(request.to >= 1 && request.to <= 252)) throw refused('invalid', `ID ${request.to} is outside 1..=252`);
    if (request.baud != null && !BAUD_RATES[protocol].includes(request.baud)) {
      throw refused('invalid', `a ${name} servo cannot run at ${request.baud} baud; it can at ${BAUD_RATES[protocol].join(', ')}`);
    }
    const held = this.bus.heldPorts().find((h) => h.port === port);
    if (held) throw refused('invalid', `${port} is open on link ${held.link}: disconnect it first, then connect the servo alone`);
    const bench = this.ports.get(port);
    if (!bench && !port.startsWith('/dev/')) throw refused('link', `cannot open ${port}: No such file or directory`);
    const rates = searchRates(protocol);
    const mine = (bench?.connected ?? []).filter((s) => s.protocol === protocol);
    // As the engine: the first rate anything answers at.
    const rate = rates.find((r) => mine.some((s) => s.baud === r));
    if (rate === undefined) {
      throw refused('notFound', `no ${name} servo answered on ${port} at any rate (${rates.join(', ')}): check its power and wiring`);
    }
    const answering = mine.filter((s) => s.baud === rate);
    if (answering.length > 1) {
      const ids = answering.map((s) => s.id);
      const what = new Set(ids).size < ids.length && new Set(ids).size === 1
        ? `more than one servo answers ID ${ids[0]}`
        : `${answering.length} servos answer (IDs ${ids.join(', ')})`;
      throw refused('invalid', `${what} on ${port}: connect one servo at a time; nothing was changed`);
    }
    const servo = answering[0];
    const from = { id: servo.id, baud: servo.baud };
    const jobs: number[] = [];
    if (request.to !== servo.id) {
      jobs.push(this.bus.journal('changeId', null, `ID ${servo.id} → ${request.to}`));
      servo.id = request.to;
    }
    if (request.baud != null && request.baud !== servo.baud) {
      jobs.push(this.bus.journal('changeBaud', null, `${servo.baud} → ${request.baud} baud`));
      servo.baud = request.baud;
    }
    // The user puts this servo aside and connects the next factory-fresh one.
    if (bench) {
      bench.connected = bench.connected.filter((s) => s !== servo);
      bench.setUp.push(servo);
      if (bench.spares > 0) {
        bench.spares -= 1;
        bench.connected.push({ ...FACTORY });
      }
    }
    const message = jobs.length === 0
      ? `the servo already is ID ${servo.id} at ${servo.baud} baud; nothing was changed: connect the next servo`
      : `ID ${from.id} at ${from.baud} baud → ID ${servo.id} at ${servo.baud} baud: connect the next servo`;
    return { fromId: from.id, fromBaud: from.baud, model: servo.model, id: servo.id, baud: servo.baud, jobs, message };
  }

  /** What a scan of a set-up port finds: the servos set up so far, chained on one bus,
   * that answer one of `protocols` at one of `bauds` (empty: any). Null for other ports. */
  scan(port: string, protocols: string[], bauds: number[]): FoundDrive[] | null {
    const bench = this.ports.get(port.trim());
    if (!bench) return null;
    const answering = bench.setUp
      .filter((s) => (protocols.length === 0 || protocols.includes(s.protocol)) && (bauds.length === 0 || bauds.includes(s.baud)));
    // Two servos at one ID answer as one, garbled: one entry, marked.
    const ids = [...new Set(answering.map((s) => s.id))].sort((a, b) => a - b);
    return ids.map((id) => {
      const at = answering.filter((s) => s.id === id);
      return {
        protocol: at[0].protocol, baud: at[0].baud, id, modelNumber: 1020, model: at[0].model, firmware: '46', rttUs: 900,
        idConflict: at.length > 1, note: null,
      };
    });
  }
}

/** What a factory reset keeps, in words. */
export function keepText(keep: ResetKeep): string {
  return keep === 'nothing' ? 'nothing kept' : keep === 'id' ? 'ID kept' : 'ID and baud rate kept';
}
