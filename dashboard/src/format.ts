// How numbers, times and states read on screen.

export const severities = ["CRITICAL", "HIGH", "MEDIUM", "LOW"] as const;
export const risks = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"] as const;

export function percent(value: number | null | undefined, digits = 0): string {
  return value === null || value === undefined || Number.isNaN(value) ? "–" : `${(value * 100).toFixed(digits)} %`;
}

export function hours(value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) {
    return "–";
  }
  return value >= 48 ? `${(value / 24).toFixed(1)} d` : `${value.toFixed(value < 10 ? 1 : 0)} h`;
}

export function number(value: number | null | undefined, digits = 2): string {
  return value === null || value === undefined || Number.isNaN(value) ? "–" : value.toFixed(digits);
}

export function time(iso: string | null | undefined): string {
  if (!iso) {
    return "–";
  }
  const date = new Date(iso);
  return date.toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

/** "3 min ago", for last-seen times. */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) {
    return "never";
  }
  const seconds = Math.max(0, (now - Date.parse(iso)) / 1000);
  if (seconds < 90) {
    return `${Math.round(seconds)} s ago`;
  }
  if (seconds < 5400) {
    return `${Math.round(seconds / 60)} min ago`;
  }
  if (seconds < 172800) {
    return `${Math.round(seconds / 3600)} h ago`;
  }
  return `${Math.round(seconds / 86400)} d ago`;
}

/** The CSS class of a state (risk, severity, health, ISO zone), so colour says it at a glance. */
export function stateClass(state: string | null | undefined): string {
  switch ((state ?? "").toUpperCase()) {
    case "CRITICAL":
    case "BROKEN":
    case "D":
      return "state state-critical";
    case "HIGH":
    case "FAULTY":
    case "C":
      return "state state-high";
    case "MEDIUM":
    case "WARNING":
    case "B":
      return "state state-medium";
    case "LOW":
    case "HEALTHY":
    case "A":
      return "state state-low";
    default:
      return "state state-unknown";
  }
}

/** Health 0..1 as a colour class: green above 0.8, amber above 0.5, red below. */
export function healthClass(health: number | null | undefined): string {
  if (health === null || health === undefined) {
    return "state-unknown";
  }
  return health >= 0.8 ? "state-low" : health >= 0.5 ? "state-medium" : health >= 0.25 ? "state-high" : "state-critical";
}

export const severityColours: Record<string, string> = {
  CRITICAL: "#b3261e",
  HIGH: "#d9480f",
  MEDIUM: "#b58100",
  LOW: "#2b7a3d",
};
