// The shapes the dashboard reads (see docs/api.md and functions/Api/*.cs).

export interface FleetMachine {
  machineId: string;
  name: string | null;
  kind: string | null;
  location: string | null;
  criticality: string | null;
  health: number | null;
  risk: string | null;
  rulHours: number | null;
  rulP10Hours: number | null;
  rulP90Hours: number | null;
  failure24h: number | null;
  failure48h: number | null;
  isoZone: string | null;
  openAlerts: number;
  worstOpenSeverity: string | null;
  lastSeen: string | null;
  silent: boolean;
}

export interface Fleet {
  generatedAt: string;
  machineCount: number;
  averageHealth: number | null;
  machinesByRisk: Record<string, number>;
  openAlertsBySeverity: Record<string, number>;
  failuresWithin24h: number;
  failuresWithin48h: number;
  silentMachines: number;
  machines: FleetMachine[];
}

/** [t, mean, min, max, count] */
export type SeriesPoint = [string, number, number, number, number];

export interface SensorSeries {
  sensor: string;
  unit: string | null;
  points: SeriesPoint[];
}

export interface SeriesAlert {
  alertId: string;
  ruleId: string;
  severity: string;
  status: string;
  openedAt: string;
  resolvedAt: string | null;
  summary: string;
}

export interface Series {
  machineId: string;
  from: string;
  to: string;
  resolution: string;
  sensors: SensorSeries[];
  /** [t, score, anomalous] */
  scores: [string, number, boolean][];
  alerts: SeriesAlert[];
}

export interface SensorShare {
  sensor: string;
  contribution: number;
}

export interface Prediction {
  machineId: string;
  at: string;
  health: string;
  healthProbabilities: Record<string, number>;
  rulSeconds: number | null;
  rulP10Seconds: number | null;
  rulP90Seconds: number | null;
  failureProbability24h: number | null;
  failureProbability48h: number | null;
  risk: string;
  models: string[];
  explanation: {
    risk?: string;
    healthSource?: string;
    health?: { state: string; sensors: SensorShare[] } | null;
    rul?: { expectedSeconds: number; rawSeconds: number; sensors: SensorShare[] } | null;
    anomalies?: { scores: number; anomalies: number; worstZone: string };
    samples?: number;
  };
}

export interface Score {
  timestamp: string;
  score: number;
  threshold: number;
  anomaly: boolean;
  parts: { isolationForest: number; statistical: number; temporal: number };
  zone: string | null;
  model: string;
  topSensors: SensorShare[];
}

export interface Machine {
  machineId: string;
  name: string | null;
  kind: string | null;
}

export interface AlertAction {
  by: string;
  at: string;
  comment: string | null;
}

export interface Alert {
  id: string;
  subject: string;
  subjectId: string;
  ruleId: string;
  ruleKind: string;
  status: string;
  severity: string;
  openedAt: string;
  lastSeenAt: string;
  count: number;
  firing: boolean;
  acknowledged?: AlertAction;
  resolved?: AlertAction;
  explanation: { summary: string; sensors?: string[] };
}

export interface AlertEvent {
  id: string;
  type: string;
  at: string;
  by: string | null;
  comment: string | null;
  severity: string;
  status: string;
}

export interface Subscription {
  id: string;
  url: string;
  description: string | null;
  enabled: boolean;
  filters: { severities: string[]; eventTypes: string[]; machines: string[]; machineKinds: string[] };
  createdAt: string;
  secret?: string;
}

export interface Attempt {
  eventId: string;
  attempt: number;
  channel: string;
  outcome: string;
  attemptedAt: string;
  latencyMs: number;
  statusCode: number | null;
  error: string | null;
}

export interface DeadLetter {
  id: string;
  subscriptionId: string;
  eventId: string;
  attempts: number;
  lastError: string;
  deadLetteredAt: string;
  replayedAt: string | null;
}

export interface Device {
  deviceId: string;
  createdAt: string;
  disabled: boolean;
}

export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  role: string;
  createdAt: string;
  revokedAt: string | null;
  lastUsedAt?: string | null;
}

export const machineLabel = (machine: { machineId: string; name?: string | null }): string => machine.name || machine.machineId;

/** One page of a paged list: `next` is the cursor of the following page (null on the last), `nextLink` fetches it. */
export interface ListPage<T> {
  items: T[];
  next: string | null;
  nextLink: string | null;
}
