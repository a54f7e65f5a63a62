import uPlot from "uplot";
import { enc, get } from "./api";
import { alertActions } from "./alerts";
import { h, replace } from "./dom";
import { hours, number, percent, severityColours, stateClass, time } from "./format";
import type { Page, Session } from "./main";
import { ListPage, Machine, Prediction, Score, Series, SensorShare, machineLabel } from "./types";

const minute = 60_000;
/** The range buttons: minutes to the 30 days the series endpoint allows (31 at most). */
const ranges: [string, number][] = [
  ["15 min", 15 * minute],
  ["1 h", 60 * minute],
  ["6 h", 6 * 60 * minute],
  ["24 h", 24 * 60 * minute],
  ["7 d", 7 * 24 * 60 * minute],
  ["30 d", 30 * 24 * 60 * minute],
];

interface View {
  span: number;
  /** A fixed end (after a drag-zoom); null follows now (live). */
  end: number | null;
}

/** One machine: its latest prediction and why, the ensemble's parts, a chart per sensor and its anomaly scores with alert markers. */
export function machinePage(root: HTMLElement, session: Session, machineId: string): Page {
  let view: View = { span: 24 * 60 * minute, end: null };
  let charts: uPlot[] = [];
  let drawnSeries: Series | null = null;
  const title = h("h1", {}, machineId);
  const subtitle = h("p", { class: "subtitle" });
  const prediction = h("section", { class: "panel prediction", "aria-label": "Latest prediction" }, h("p", {}, "Loading…"));
  const ensemble = h("section", { class: "panel ensemble", "aria-label": "Anomaly ensemble" });
  const rangeInfo = h("p", { class: "range-info", "aria-live": "polite" });
  const buttons = ranges.map(([label, span]) => {
    const button = h("button", { type: "button", "aria-pressed": "false" }, label);
    button.addEventListener("click", () => {
      view = { span, end: null };
      void redraw(true);
    });
    return button;
  });
  const chartArea = h("section", { class: "charts", "aria-label": "Sensor charts" });
  const alerts = h("section", { class: "panel", "aria-label": "Alerts of this machine" });
  replace(root,
    h("p", { class: "crumbs" }, h("a", { href: "#/fleet" }, "Fleet"), " › ", machineId),
    title, subtitle,
    h("div", { class: "two" }, prediction, ensemble),
    h("div", { class: "toolbar", role: "group", "aria-label": "Time range" }, ...buttons,
      h("span", { class: "hint" }, "Drag across a chart to zoom in.")),
    rangeInfo, chartArea, alerts);

  const resize = (): void => {
    for (const chart of charts) {
      chart.setSize({ width: chartWidth(chartArea), height: chart.height });
    }
  };
  addEventListener("resize", resize);

  async function redraw(force: boolean): Promise<void> {
    // Live ranges end at the next whole minute, so repeated polls ask the same question and get 304 while nothing arrived.
    const end = view.end ?? Math.ceil(Date.now() / minute) * minute;
    const from = new Date(end - view.span).toISOString();
    const to = new Date(end).toISOString();
    const maxPoints = Math.max(200, Math.min(1000, Math.round(chartWidth(chartArea))));
    const { body: series, changed } = await get<Series>(`/machines/${enc(machineId)}/series?from=${enc(from)}&to=${enc(to)}&maxPoints=${maxPoints}`);
    buttons.forEach((b, i) => b.setAttribute("aria-pressed", String(view.end === null && ranges[i][1] === view.span)));
    rangeInfo.textContent = `${time(series.from)} – ${time(series.to)} · resolution ${series.resolution}${view.end === null ? " · live" : ""}`;
    if (!changed && !force && drawnSeries) {
      return;
    }
    drawnSeries = series;
    drawCharts(series);
    drawAlerts(series);
  }

  function drawCharts(series: Series): void {
    charts.forEach((c) => c.destroy());
    charts = [];
    chartArea.replaceChildren();
    const markers = alertMarkers(series);
    // The chosen range, not the data's extent: "24 h" shows 24 hours even when the machine only sent the last 20 minutes.
    const span: [number, number] = [Date.parse(series.from) / 1000, Date.parse(series.to) / 1000];
    const zoom = (u: uPlot): void => {
      if (u.select.width < 4) {
        return;
      }
      const left = u.posToVal(u.select.left, "x") * 1000;
      const right = u.posToVal(u.select.left + u.select.width, "x") * 1000;
      u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
      // Never below a minute: the raw resolution has points every few seconds at most.
      view = { span: Math.max(minute, right - left), end: right };
      void redraw(true);
    };
    for (const sensor of series.sensors) {
      const x = sensor.points.map((p) => Date.parse(p[0]) / 1000);
      const unit = sensor.unit ? ` (${sensor.unit})` : "";
      const figure = h("figure", { class: "chart", "data-sensor": sensor.sensor, role: "group", "aria-label": `${sensor.sensor}${unit}: ${sensor.points.length} points` },
        h("figcaption", {}, sensor.sensor, h("span", { class: "unit" }, unit)));
      chartArea.append(figure);
      if (sensor.points.length === 0) {
        figure.append(h("p", { class: "empty" }, "No readings in this range."));
        continue;
      }
      charts.push(new uPlot({
        width: chartWidth(chartArea),
        height: 180,
        cursor: { sync: { key: machineId }, drag: { x: true, y: false, setScale: false } },
        scales: { x: { time: true, range: () => span } },
        axes: [{}, { label: `${sensor.sensor}${unit}`, size: 60 }],
        series: [
          {},
          { label: "min", stroke: "#9bb7d4", width: 1, value: (_u, v) => number(v) },
          { label: "max", stroke: "#9bb7d4", width: 1, value: (_u, v) => number(v) },
          { label: `mean${unit}`, stroke: "#1f5fa8", width: 2, value: (_u, v) => number(v) },
        ],
        bands: [{ series: [2, 1], fill: "rgba(31,95,168,0.12)" }],
        hooks: { draw: [markers], setSelect: [zoom] },
      }, [x, sensor.points.map((p) => p[2]), sensor.points.map((p) => p[3]), sensor.points.map((p) => p[1])], figure));
    }
    const scoreFigure = h("figure", { class: "chart", "data-sensor": "anomaly-score", role: "group", "aria-label": `Anomaly score: ${series.scores.length} points` },
      h("figcaption", {}, "Anomaly score", h("span", { class: "unit" }, " (red: anomalous)")));
    chartArea.append(scoreFigure);
    if (series.scores.length === 0) {
      scoreFigure.append(h("p", { class: "empty" }, "No anomaly scores in this range."));
    } else {
      const x = series.scores.map((s) => Date.parse(s[0]) / 1000);
      charts.push(new uPlot({
        width: chartWidth(chartArea),
        height: 150,
        cursor: { sync: { key: machineId }, drag: { x: true, y: false, setScale: false } },
        scales: { x: { time: true, range: () => span } },
        axes: [{}, { label: "score", size: 60 }],
        series: [
          {},
          { label: "score", stroke: "#5b4a9e", width: 1.5, value: (_u, v) => number(v) },
          { label: "anomalous", stroke: "#b3261e", width: 0, points: { show: true, size: 6, fill: "#b3261e" }, value: (_u, v) => number(v) },
        ],
        hooks: { draw: [markers], setSelect: [zoom] },
      }, [x, series.scores.map((s) => s[1]), series.scores.map((s) => (s[2] ? s[1] : null))], scoreFigure));
    }
    if (series.alerts.length > 0) {
      chartArea.append(h("p", { class: "hint" }, "Vertical lines mark when alerts opened (colour by severity)."));
    }
  }

  function drawAlerts(series: Series): void {
    if (series.alerts.length === 0) {
      replace(alerts, h("h2", {}, "Alerts in this range"), h("p", { class: "empty" }, "None."));
      return;
    }
    replace(alerts, h("h2", {}, "Alerts in this range"),
      h("ul", { class: "alert-list" }, ...series.alerts.map((a) => h("li", { "data-alert": a.alertId },
        h("span", { class: stateClass(a.severity) }, a.severity), " ",
        h("strong", {}, a.summary), " ",
        h("span", { class: "muted" }, `${a.status} · opened ${time(a.openedAt)}${a.resolvedAt ? ` · resolved ${time(a.resolvedAt)}` : ""}`),
        a.status === "resolved" ? null : alertActions(a.alertId, a.status, session, () => redraw(true))))));
  }

  async function drawPrediction(): Promise<void> {
    const [machine, predictions, scores] = await Promise.all([
      get<Machine>(`/machines/${enc(machineId)}`),
      get<ListPage<Prediction>>(`/machines/${enc(machineId)}/predictions?limit=1`),
      get<{ scores: Score[] }>(`/machines/${enc(machineId)}/scores?limit=1&from=${enc(new Date(Date.now() - 31 * 24 * 60 * minute).toISOString())}`),
    ]);
    title.textContent = machineLabel(machine.body);
    subtitle.textContent = [machine.body.kind, machine.body.name ? machineId : null].filter(Boolean).join(" · ");
    const latest = predictions.body.items[0];
    const score = scores.body.scores[0];
    replace(prediction, h("h2", {}, "Latest prediction"), latest ? predictionView(latest, score) : h("p", { class: "empty" }, "No prediction yet."));
    replace(ensemble, h("h2", {}, "Anomaly ensemble"), score ? ensembleView(score) : h("p", { class: "empty" }, "No anomaly score yet."));
  }

  return {
    title: machineId,
    async refresh() {
      await Promise.all([drawPrediction(), redraw(false)]);
    },
    dispose() {
      removeEventListener("resize", resize);
      charts.forEach((c) => c.destroy());
    },
  };
}

function chartWidth(area: HTMLElement): number {
  return Math.max(260, area.clientWidth - 8);
}

/** Draws a vertical line where each alert opened, in its severity's colour. */
function alertMarkers(series: Series): (u: uPlot) => void {
  return (u) => {
    const context = u.ctx;
    context.save();
    context.lineWidth = 2 * devicePixelRatio;
    for (const alert of series.alerts) {
      const x = u.valToPos(Date.parse(alert.openedAt) / 1000, "x", true);
      if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) {
        continue;
      }
      context.strokeStyle = severityColours[alert.severity] ?? "#444";
      context.beginPath();
      context.moveTo(x, u.bbox.top);
      context.lineTo(x, u.bbox.top + u.bbox.height);
      context.stroke();
    }
    context.restore();
  };
}

function predictionView(p: Prediction, score: Score | undefined): HTMLElement {
  const rul = (s: number | null): number | null => (s === null ? null : s / 3600);
  const zone = score?.zone ?? p.explanation.anomalies?.worstZone ?? null;
  const drivers: SensorShare[] = p.explanation.rul?.sensors ?? p.explanation.health?.sensors ?? [];
  return h("div", {},
    h("dl", { class: "facts" },
      h("dt", {}, "Health"), h("dd", {}, h("span", { class: stateClass(p.health) }, p.health)),
      h("dt", {}, "Risk"), h("dd", {}, h("span", { class: stateClass(p.risk) }, p.risk)),
      h("dt", {}, "Remaining life"), h("dd", { class: "rul" }, rul(p.rulSeconds) === null ? "–"
        : `${hours(rul(p.rulSeconds))} (10–90 %: ${hours(rul(p.rulP10Seconds))} – ${hours(rul(p.rulP90Seconds))})`),
      h("dt", {}, "Failure within 24 h"), h("dd", {}, percent(p.failureProbability24h, 1)),
      h("dt", {}, "Failure within 48 h"), h("dd", {}, percent(p.failureProbability48h, 1)),
      h("dt", {}, "ISO 10816 zone"), h("dd", {}, zone && zone !== "NONE" ? h("span", { class: stateClass(zone) }, zone) : "–"),
      h("dt", {}, "At"), h("dd", {}, time(p.at)),
      h("dt", {}, "Models"), h("dd", {}, p.models.join(", ") || "–")),
    p.explanation.risk ? h("p", { class: "muted" }, `Why: ${p.explanation.risk}`) : null,
    drivers.length > 0 ? h("div", {}, h("h3", {}, p.explanation.rul ? "Sensors driving the remaining life" : "Sensors driving the health"), shares(drivers.slice(0, 5))) : null);
}

function ensembleView(s: Score): HTMLElement {
  const parts: [string, number][] = [
    ["Isolation forest", s.parts.isolationForest],
    ["Statistical", s.parts.statistical],
    ["Temporal", s.parts.temporal],
  ];
  return h("div", {},
    h("p", {}, "Score ", h("strong", { class: s.anomaly ? "state state-critical" : "state state-low" }, number(s.score)),
      ` (threshold ${number(s.threshold)}) at ${time(s.timestamp)}`),
    h("ul", { class: "meters" }, ...parts.map(([label, value]) => meter(label, value, 1))),
    s.topSensors.length > 0 ? h("div", {}, h("h3", {}, "Sensors behind the score"), shares(s.topSensors)) : null);
}

function shares(list: SensorShare[]): HTMLElement {
  const largest = Math.max(...list.map((s) => Math.abs(s.contribution)), 1e-9);
  return h("ul", { class: "meters" }, ...list.map((s) => meter(s.sensor, s.contribution, largest)));
}

function meter(label: string, value: number, scale: number): HTMLElement {
  const fill = h("span", { class: `meter-fill ${value < 0 ? "negative" : ""}` });
  fill.style.width = `${Math.min(100, (Math.abs(value) / scale) * 100)}%`;
  return h("li", {}, h("span", { class: "meter-label" }, label), h("span", { class: "meter", role: "img", "aria-label": `${label}: ${number(value, 3)}` }, fill),
    h("span", { class: "meter-value" }, number(value, 3)));
}
