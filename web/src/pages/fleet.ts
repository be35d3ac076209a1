import { get } from "../api";
import type { Device, DeviceDetail, DeviceTelemetry } from "../api";
import { chart } from "../charts";
import { badge, card, empty, h, pageHead, table, when, whileShown } from "../dom";

const model = (d: Device) => (d.active ? `v${d.active.version} (${d.active.state || "?"})` : "no model");
const caps = (d: Device, k: string) => String((d.capabilities as Record<string, unknown>)[k] ?? "?");

// The registry: every device with its online state, capabilities and active model,
// refreshed while shown; a device's page has its version history and live telemetry.
export async function fleet(page: HTMLElement, id?: string): Promise<void> {
  if (id) return device(page, id);
  page.append(...pageHead("Fleet", "Devices as their agents announce them: online state, capabilities, the model each runs. Refreshed every few seconds."));
  const body = h("div", { id: "devices" });
  page.append(card("", {}, body));
  const draw = async () => {
    const list = await get<Device[]>("/api/devices");
    body.replaceChildren(list.length
      ? table(["device", "state", "agent", "core", "arena bytes", "slot bytes", "model", "groups"], list.map((d) => [
        h("a", { href: `#/fleet/${encodeURIComponent(d.id)}` }, d.id), badge(d.online ? "online" : "offline"), d.agent,
        caps(d, "core"), caps(d, "arena_bytes"), caps(d, "slot_bytes"), model(d), d.groups.join(", "),
      ]))
      : empty("No devices yet.", "Devices appear when an agent announces them and a control plane runs:", "tinymlaas agent --device ADDRESS; tinymlaas control"));
  };
  await draw();
  whileShown(3000, draw);
}

async function device(page: HTMLElement, id: string): Promise<void> {
  const detail = await get<DeviceDetail>(`/api/devices/${encodeURIComponent(id)}`);
  const d = detail.device;
  page.append(...pageHead(`Device ${d.id}`, `Agent ${d.agent}; ${caps(d, "core")} at ${Number(caps(d, "clock_hz")) / 1e6 || "?"} MHz, firmware ${caps(d, "firmware")}, arena ${caps(d, "arena_bytes")} bytes.`));
  const state = h("p", { id: "device-state", role: "status" });
  const charts = h("div", { class: "cards", id: "device-charts" });
  const recent = h("div", { id: "recent" });
  const history = h("div", { id: "history" });
  const heard = h("div", { id: "detections" });
  page.append(state, charts, card("Latest inferences", {}, recent), card("Keywords heard", {}, heard), card("Version history", {}, history));
  const draw = async () => {
    const [now, tel] = await Promise.all([
      get<DeviceDetail>(`/api/devices/${encodeURIComponent(id)}`),
      get<DeviceTelemetry>(`/api/devices/${encodeURIComponent(id)}/telemetry?since_s=3600&recent=20`),
    ]);
    state.replaceChildren(badge(now.device.online ? "online" : "offline"), ` model ${model(now.device)}, last seen ${when(now.device.last_seen_ms)}`);
    history.replaceChildren(now.deployments.length
      ? table(["deployment", "version", "package", "status", "when", "message"], now.deployments.map((x) => [
        h("a", { href: `#/lineage/deployment:${x.id}` }, `#${x.id}`), `v${x.version}`, x.package, badge(x.status), when(x.created_ms), x.message,
      ]))
      : empty("Nothing deployed here from this workspace.", "Deploy with", "tinymlaas deploy MODEL --device " + id));
    recent.replaceChildren(tel.recent.length
      ? table(["sent", "version", "class", "confidence", "ticks"], tel.recent.map((r) => [
        when(r.sent_ms), `v${r.model_version}`, String(r.top_class), r.confidence.toFixed(3), String(r.ticks),
      ]))
      : empty("No inferences stored yet.", "A running control plane stores what the device reports."));
    heard.replaceChildren(tel.detections.length
      ? table(["sent", "version", "class", "score"], tel.detections.map((r) => [
        when(r.sent_ms), `v${r.model_version}`, String(r.top_class), r.confidence.toFixed(3),
      ]))
      : empty("No keywords heard.", "A listening device reports them:", "tinymlaas agent --sense-every 1000 --listen keywords=0-9"));
    const minutes = tel.minutes.map((m) => [(m.minute_ms - tel.since_ms) / 60000, m] as const);
    const classes = new Map<number, number>();
    for (const r of tel.recent) classes.set(r.top_class, (classes.get(r.top_class) ?? 0) + 1);
    charts.replaceChildren(
      card("", {}, await chart({ kind: "line", title: "inferences per minute", x_label: "minutes (the last hour)", y_range: [0, Math.max(1, ...minutes.map(([, m]) => m.inferences)) * 1.1], series: [{ name: "inferences", points: minutes.map(([x, m]) => [x, m.inferences]) }] })),
      card("", {}, await chart({ kind: "line", title: "mean confidence per minute", x_label: "minutes (the last hour)", y_range: [0, 1], series: [{ name: "confidence", points: minutes.map(([x, m]) => [x, m.confidence_mean]) }] })),
      card("", {}, await chart({ kind: "bars", title: "classes of the latest inferences", rows: [...classes.entries()].sort((a, b) => a[0] - b[0]).map(([c, n]) => [`class ${c}`, n]) })));
  };
  await draw();
  whileShown(2000, draw);
}
