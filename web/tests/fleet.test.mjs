// The fleet pages in a real browser (Debian's chromium, driven by playwright-core) on
// emulated devices: a Mosquitto broker, two Cortex-M4 boards in QEMU behind one agent,
// `tinymlaas control` and `tinymlaas serve`, all started here. The devices run v1 of a
// keyword-spotting model on their sensors; the test starts a rollout of v2 from the
// Rollouts page, pauses it, resumes it by keyboard, follows its stages to done, measures
// drift against its reference, rolls it back, then halts a second one. Fails on any
// browser console error. Screenshots with a second argument.
// Usage: node tests/fleet.test.mjs TINYMLAAS [SCREENSHOT_DIR]
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { launchChromium } from "./chromium.mjs";
import { greyPng } from "./png.mjs";

const tml = resolve(process.argv[2] ?? "../build/tinymlaas");
const shots = process.argv[3] ? resolve(process.argv[3]) : "";
const work = mkdtempSync(join(tmpdir(), "tml-fleet-"));
const ws = join(work, "ws");
const procs = [];
let browser, failures = 0;

function check(name, ok, detail = "") {
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${ok || !detail ? "" : ": " + detail}`);
  if (!ok) failures++;
}

function cli(...args) {
  return execFileSync(tml, args, { stdio: ["ignore", "pipe", "inherit"] }).toString();
}
const run = (...args) => cli(...args, "--workspace", ws);

// A process whose output goes to work/NAME.log; resolves once the log matches `ready`.
function start(name, cmd, args, ready, seconds) {
  const log = join(work, `${name}.log`);
  const fd = openSync(log, "w");
  // The agent keeps its package cache in the workspace it finds ($TINYMLAAS_HOME).
  const p = spawn(cmd, args, { stdio: ["ignore", fd, fd], cwd: work, env: { ...process.env, TINYMLAAS_HOME: ws } });
  procs.push([name, p]);
  return waitFor(`${name} ready`, seconds, () => {
    if (p.exitCode !== null || p.signalCode !== null) throw new Error(`${name} exited ${p.exitCode ?? p.signalCode}:\n${readFileSync(log, "utf8")}`);
    const m = readFileSync(log, "utf8").match(ready);
    return m ? m : null;
  });
}

async function waitFor(what, seconds, probe) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${seconds} s waiting for ${what}`);
    await new Promise((ok) => setTimeout(ok, 200));
  }
}

// Submits the Rollouts page's form; the page then shows rollout `id` (else its error).
async function startRollout(page, id) {
  await page.click("#new-rollout button");
  await page.waitForFunction((want) => document.querySelector("h1")?.textContent === want ||
    document.querySelector("#new-rollout-status")?.dataset.state === "failed", `Rollout ${id}`, { timeout: 60000 });
  const h1 = await page.locator("h1").textContent();
  if (h1 !== `Rollout ${id}`) throw new Error(`starting rollout ${id}: ${await page.locator("#new-rollout-status").textContent()}`);
}

function freePort() {
  return new Promise((ok) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

async function main() {
  mkdirSync(ws, { recursive: true });
  run("keys", "create");
  const token = run("token", "create", "fleet").trim();
  // Two versions of a keyword spotter (seeded weights), and a small dataset of 49x10
  // "spectrograms" in twelve classes (the model's outputs): its test split is what the sensors replay and the
  // rollout's reference evaluation.
  cli("zoo", "ds_cnn_kws", "--int8", "--seed", "1", "-o", join(ws, "v1.onnx"));
  cli("zoo", "ds_cnn_kws", "--int8", "--seed", "2", "-o", join(ws, "v2.onnx"));
  for (let k = 0; k < 12; k++) {
    mkdirSync(join(work, "kws", `c${String(k).padStart(2, "0")}`), { recursive: true });
    for (let i = 0; i < 5; i++)
      writeFileSync(join(work, "kws", `c${String(k).padStart(2, "0")}`, `${i}.png`), greyPng(10, 49, (x, y) => ((x * (k + 1) + y * (i + 1)) % 7) * 30 + k * 20));
  }
  run("data", "import", "kws", "--folder", join(work, "kws"), "--size", "49x10", "--split", "auto", "--test", "0.2", "--val", "0");
  run("data", "sensor", "kws@1@test", "--model", join(ws, "v1.onnx"), "--samples", "3", "-o", join(work, "sensor.bin"));

  const port = await freePort();
  writeFileSync(join(work, "mosquitto.conf"), `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n`);
  await start("mosquitto", "mosquitto", ["-c", join(work, "mosquitto.conf")], /running/, 20);
  const broker = ["--broker", `127.0.0.1:${port}`];
  const addresses = [];
  for (const id of ["b1", "b2"]) {
    const m = await start(id, tml, ["emulate", "--id", id, "--target", "cortex-m4", "--dir", join(work, "devices"),
      "--sensor", join(work, "sensor.bin"), "--workspace", ws], / on (unix:[^;\s]*)/, 300);
    addresses.push(m[1]);
  }
  await start("agent", tml, ["agent", "--id", "gw", ...addresses.flatMap((a) => ["--device", a]), "--sense-every", "300",
    "--key", join(ws, "keys", "signing.pub"), ...broker], /agent gw on/, 60);
  run("devices", "sync", ...broker);
  for (const id of ["b1", "b2"]) run("devices", "group", id, "lab");
  run("deploy", join(ws, "v1.onnx"), "--group", "lab", ...broker);
  await start("control", tml, ["control", "--tick-ms", "500", "--workspace", ws, ...broker], /control plane: broker/, 30);
  const serve = await start("serve", tml, ["serve", "--port", "0", "--workers", "0", "--workspace", ws], /serving http:\/\/127\.0\.0\.1:(\d+)\//, 30);
  const base = `http://127.0.0.1:${serve[1]}/`;
  const api = async (path) => (await fetch(base + path.slice(1), { headers: { Authorization: `Bearer ${token}` } })).json();

  browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(base + "index.html");
  await page.fill("#token", token);
  await page.click("#login button");
  await page.waitForSelector("h1:text('Home')");

  // Fleet: both boards online on v1, refreshed live.
  await page.goto(base + "index.html#/fleet");
  await page.waitForFunction(() => [...document.querySelectorAll("#devices tbody tr")].filter((r) => /online/.test(r.textContent) && /v1 /.test(r.textContent)).length === 2, null, { timeout: 60000 });
  check("the fleet page lists both boards online on v1", true);
  const row = await page.locator("#devices tbody tr", { hasText: "b1" }).textContent();
  check("a device's row shows its core and agent", row.includes("cortex-m4") && row.includes("gw"), row);

  // A device: version history and live telemetry (the control plane stores the sensor's answers).
  await page.click("#devices a:text('b1')");
  await page.waitForSelector("h1:text('Device b1')");
  await page.waitForSelector("#history tbody tr");
  check("the version history shows the v1 deployment", (await page.locator("#history").textContent()).includes("v1"));
  await page.waitForFunction(() => document.querySelectorAll("#recent tbody tr").length >= 3, null, { timeout: 60000 });
  await page.waitForSelector("#device-charts svg[aria-label='inferences per minute']");
  check("live inferences and telemetry charts appear", (await page.locator("#device-charts svg").count()) === 3);
  check("a device that does not listen has heard no keywords, and says how one listens",
    (await page.locator("#detections").textContent()).includes("--listen"));
  if (shots) await page.screenshot({ path: join(shots, "device.png"), fullPage: true });

  // A rollout of v2 from the dashboard: a canary stage of one board, then both.
  await page.goto(base + "index.html#/rollouts");
  await page.waitForSelector("#new-rollout");
  await page.fill("#new-rollout input[name=model]", join(ws, "v2.onnx"));
  await page.fill("#new-rollout input[name=group]", "lab");
  await page.fill("#new-rollout input[name=stages]", "50,100");
  await page.fill("#new-rollout input[name=reference]", "kws@1@test");
  await startRollout(page, 1);
  await page.click("[data-action=pause]");
  await page.waitForSelector("#rollout-state[data-status=paused]");
  const paused = await api("/api/rollouts/1");
  check("paused, the second stage's board waits", paused.status === "paused" && paused.devices.find((d) => d.device === "b2").status === "pending", JSON.stringify(paused.devices));
  // Resume by keyboard: the button takes the focus and Enter presses it.
  await page.focus("[data-action=resume]");
  await page.keyboard.press("Enter");
  await page.waitForSelector("#rollout-state[data-status=running]");
  await page.waitForSelector("#rollout-state[data-status=done]", { timeout: 240000 });
  const stages = await page.locator("#stages .stage").allTextContents();
  check("both stages end with their board healthy", stages.length === 2 && stages.every((s) => s.includes("1 of 1 healthy")), stages.join(" | "));
  check("the devices table shows both boards healthy", (await page.locator("#rollout-devices tbody tr", { hasText: "healthy" }).count()) === 2);
  if (shots) await page.screenshot({ path: join(shots, "rollout.png"), fullPage: true });

  // Drift against the rollout's reference evaluation.
  await page.goto(base + "index.html#/drift");
  await page.waitForSelector("#drift-form");
  await page.selectOption("#drift-form select[name=rollout]", "1");
  await page.click("#drift-form button");
  await page.waitForSelector("#drift-status[data-state=done]", { timeout: 60000 });
  const driftText = await page.locator("#drift-result").textContent();
  check("drift lists each board and the group", ["device:b1", "device:b2", "group:lab"].every((s) => driftText.includes(s)), driftText.slice(0, 300));
  check("the drift status names the reference", (await page.locator("#drift-status").textContent()).includes("kws@1@test"));
  if (shots) await page.screenshot({ path: join(shots, "drift.png"), fullPage: true });

  // Roll back: both boards go back to v1.
  await page.goto(base + "index.html#/rollouts/1");
  await page.click("[data-action=rollback]");
  await page.waitForSelector("#rollout-state[data-status=rolled_back]", { timeout: 180000 });
  await waitFor("both boards on v1 again", 60, async () => (await api("/api/devices")).every((d) => d.active && d.active.version === 1));
  check("rolled back, both boards run v1 again", true);

  // A second rollout, halted from its page: no new installs, resume and rollback offered.
  await page.goto(base + "index.html#/rollouts");
  await page.waitForSelector("#new-rollout");
  await page.fill("#new-rollout input[name=model]", join(ws, "v2.onnx"));
  await page.fill("#new-rollout input[name=group]", "lab");
  await page.fill("#new-rollout input[name=stages]", "50,100");
  await startRollout(page, 2);
  await page.click("[data-action=halt]");
  await page.waitForSelector("#rollout-state[data-status=halted]");
  const offered = await page.locator("#rollout-actions button").allTextContents();
  check("a halted rollout offers resume and rollback", offered.join(",") === "Resume,Rollback", offered.join(","));
  await page.goto(base + "index.html#/rollouts");
  await page.waitForFunction(() => document.querySelectorAll("#rollouts tbody tr").length === 2);
  check("the rollouts list shows both, with their states", /rolled_back/.test(await page.locator("#rollouts").textContent()) && /halted/.test(await page.locator("#rollouts").textContent()));

  check("no browser console errors", errors.length === 0, errors.join("; "));
}

try {
  await main();
} catch (e) {
  console.log(`FAIL ${e.stack ?? e}`);
  failures++;
  for (const name of ["control", "agent", "serve"]) {
    try {
      console.log(`--- ${name}.log (end)\n${readFileSync(join(work, `${name}.log`), "utf8").slice(-3000)}`);
    } catch { /* not started */ }
  }
} finally {
  if (browser) await Promise.race([browser.close(), new Promise((ok) => setTimeout(ok, 20000))]);
  // Every process must stop on SIGTERM; one that does not is a failure (and is killed).
  for (const [name, p] of procs.reverse()) {
    if (p.exitCode === null && p.signalCode === null) p.kill("SIGTERM");
    else check(`${name} ran to the end`, false, `exited early (${p.exitCode ?? p.signalCode})\n${readFileSync(join(work, `${name}.log`), "utf8").slice(-2000)}`);
  }
  await Promise.all(procs.map(async ([name, p]) => {
    try {
      await waitFor(`${name} to stop`, 30, () => p.exitCode !== null || p.signalCode !== null);
    } catch (e) {
      check(`${name} stops on SIGTERM`, false, `${e.message}\n${readFileSync(join(work, `${name}.log`), "utf8").slice(-2000)}`);
      p.kill("SIGKILL");
    }
  }));
  rmSync(work, { recursive: true, force: true });
}
console.log(failures ? `${failures} check(s) failed` : "all fleet browser checks passed");
process.exit(failures ? 1 : 0);
