import { get } from "./api";
import { h, replace } from "./dom";
import { ago, healthClass, hours, percent, risks, severities, stateClass } from "./format";
import type { Page, Session } from "./main";
import { Fleet, FleetMachine, machineLabel } from "./types";

/** The fleet at a glance: counts first, then every machine, worst first (the server's order). */
export function fleetPage(root: HTMLElement, _session: Session): Page {
  const summary = h("section", { class: "cards", "aria-label": "Fleet summary" });
  const distribution = h("section", { class: "distribution", "aria-label": "Machines by risk and open alerts by severity" });
  const table = h("section", { class: "machines", "aria-label": "Machines, worst first" });
  replace(root, h("h1", {}, "Fleet"), summary, distribution, table);
  return {
    title: "Fleet",
    async refresh() {
      const { body: fleet, changed } = await get<Fleet>("/fleet");
      if (!changed && summary.childElementCount > 0) {
        return;
      }
      replace(summary,
        card("Machines", String(fleet.machineCount)),
        card("Average health", percent(fleet.averageHealth), healthClass(fleet.averageHealth)),
        card("Failure predicted within 24 h", String(fleet.failuresWithin24h), fleet.failuresWithin24h > 0 ? "state-critical" : "state-low"),
        card("Failure predicted within 48 h", String(fleet.failuresWithin48h), fleet.failuresWithin48h > 0 ? "state-high" : "state-low"),
        card("Silent machines", String(fleet.silentMachines), fleet.silentMachines > 0 ? "state-medium" : "state-low"));
      replace(distribution,
        bar("Machines by risk", risks.map((r) => [r, fleet.machinesByRisk?.[r] ?? 0])),
        bar("Open alerts by severity", severities.map((s) => [s, fleet.openAlertsBySeverity?.[s] ?? 0])));
      replace(table, machineTable(fleet.machines));
    },
  };
}

function card(label: string, value: string, colour = ""): HTMLElement {
  return h("div", { class: `card ${colour}` }, h("div", { class: "card-value" }, value), h("div", { class: "card-label" }, label));
}

function bar(title: string, counts: [string, number][]): HTMLElement {
  const total = counts.reduce((sum, [, n]) => sum + n, 0);
  const track = h("div", { class: "bar", role: "img", "aria-label": `${title}: ${counts.map(([k, n]) => `${n} ${k.toLowerCase()}`).join(", ")}` });
  for (const [key, n] of counts) {
    if (n > 0) {
      // Widths through the CSSOM, which the content security policy allows (style attributes it does not).
      const segment = h("span", { class: `segment ${stateClass(key)}`, title: `${key}: ${n}` }, String(n));
      segment.style.flexGrow = String(n);
      track.append(segment);
    }
  }
  if (total === 0) {
    track.append(h("span", { class: "segment empty" }, "none"));
  }
  const legend = h("ul", { class: "legend" }, ...counts.map(([key, n]) => h("li", {}, h("span", { class: stateClass(key) }, key), ` ${n}`)));
  return h("div", { class: "bar-block" }, h("h2", {}, title), track, legend);
}

function machineTable(machines: FleetMachine[]): HTMLElement {
  if (machines.length === 0) {
    return h("p", { class: "empty" }, "No machines yet: register a device and let it send readings.");
  }
  const head = ["Machine", "Health", "Risk", "RUL (p10–p90)", "Failure 24 h / 48 h", "ISO zone", "Open alerts", "Last seen"];
  return h("table", { class: "responsive" },
    h("caption", {}, "Machines, worst first"),
    h("thead", {}, h("tr", {}, ...head.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, ...machines.map((m) => h("tr", { "data-machine": m.machineId, class: m.silent ? "silent" : "" },
      h("th", { scope: "row", "data-label": head[0] },
        h("a", { href: `#/machines/${encodeURIComponent(m.machineId)}` }, machineLabel(m)),
        describe(m) ? h("span", { class: "kind" }, ` ${describe(m)}`) : null),
      h("td", { "data-label": head[1] }, h("span", { class: `health ${healthClass(m.health)}` }, percent(m.health))),
      h("td", { "data-label": head[2] }, h("span", { class: stateClass(m.risk) }, m.risk ?? "UNKNOWN")),
      h("td", { "data-label": head[3] }, m.rulHours === null ? "–" : `${hours(m.rulHours)} (${hours(m.rulP10Hours)}–${hours(m.rulP90Hours)})`),
      h("td", { "data-label": head[4] }, `${percent(m.failure24h)} / ${percent(m.failure48h)}`),
      h("td", { "data-label": head[5] }, m.isoZone ? h("span", { class: stateClass(m.isoZone) }, m.isoZone) : "–"),
      h("td", { "data-label": head[6] }, m.openAlerts > 0
        ? h("span", { class: stateClass(m.worstOpenSeverity) }, `${m.openAlerts} (${m.worstOpenSeverity ?? "?"})`)
        : "0"),
      h("td", { "data-label": head[7] }, m.silent ? h("span", { class: "state state-medium" }, `silent · ${ago(m.lastSeen)}`) : ago(m.lastSeen))))));
}

/** Kind, location and criticality as an admin set them ("CentrifugalPump · Utilities / boiler house · CRITICAL"). */
function describe(m: FleetMachine): string {
  return [m.kind, m.location, m.criticality ? `${m.criticality} criticality` : null].filter((part) => part).join(" · ");
}
