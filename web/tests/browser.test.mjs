// The dashboard in a real browser (Debian's chromium, driven by playwright-core):
// upload images into a new dataset, start a training run and watch its curves update,
// open the lineage of the trained model. Fails on any browser console error.
// Usage: node tests/browser.test.mjs TINYMLAAS [SCREENSHOT_DIR]
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";
import { greyPng } from "./png.mjs";

const tml = resolve(process.argv[2] ?? "../build/tinymlaas");
const shots = process.argv[3] ? resolve(process.argv[3]) : "";
const work = mkdtempSync(join(tmpdir(), "tml-browser-"));
const ws = join(work, "ws");
let server, browser, failures = 0;

function check(name, ok, detail = "") {
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${ok || !detail ? "" : ": " + detail}`);
  if (!ok) failures++;
}

async function main() {
  const token = execFileSync(tml, ["token", "create", "browser", "--workspace", ws]).toString().trim();
  server = spawn(tml, ["serve", "--port", "0", "--workers", "1", "--web", resolve("dist"), "--workspace", ws]);
  const port = await new Promise((ok, fail) => {
    let out = "";
    server.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/serving http:\/\/127\.0\.0\.1:(\d+)\//);
      if (m) ok(Number(m[1]));
    });
    server.on("exit", (code) => fail(new Error(`serve exited ${code}`)));
  });
  // Ten classes of 28x28 grey images (the zoo's tiny_cnn has ten outputs): class k has
  // stripes of period k + 2; every image differs (the store drops duplicate contents).
  const files = [];
  for (let k = 0; k < 10; k++)
    for (let i = 0; i < 4; i++) {
      const f = join(work, `c${k}-${i}.png`);
      writeFileSync(f, greyPng(28, 28, (x, y) => (Math.floor((x + y * (k % 3)) / (k + 2)) % 2) * 180 + 20 + 5 * i));
      files.push(f);
    }
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("pageerror", (e) => errors.push(String(e)));
  const base = `http://127.0.0.1:${port}/`;
  await page.goto(base + "index.html");
  await page.fill("#token", token);
  await page.click("#login button");
  await page.waitForSelector("h1:text('Home')");
  if (shots) await page.screenshot({ path: join(shots, "home.png"), fullPage: true });

  // Data: upload each class with its label (ten uploads, ten versions).
  for (let k = 0; k < 10; k++) {
    await page.goto(base + "index.html#/data");
    await page.waitForSelector("#upload");
    await page.fill("#upload input[name=dataset]", "shapes");
    await page.fill("#upload input[name=label]", `c${k}`);
    await page.setInputFiles("#upload input[name=files]", files.filter((f) => f.includes(`/c${k}-`)));
    await page.click("#upload button");
    await page.waitForSelector(`h2:text('Samples (${4 * (k + 1)})')`);
  }
  check("ten uploads made version 10", (await page.locator("table tr", { hasText: "shapes" }).textContent()).includes("10"));
  await page.waitForFunction(() => [...document.querySelectorAll("#samples img")].every((i) => i.complete && i.naturalWidth === 28));
  check("the sample grid shows the 40 uploaded images", (await page.locator("#samples img").count()) === 40);
  const labels = await page.locator("svg[aria-label='samples per class'] text").allTextContents();
  check("the class balance chart lists the ten classes", labels.filter((t) => /^c\d$/.test(t)).length === 10, labels.join(","));
  if (shots) await page.screenshot({ path: join(shots, "data.png"), fullPage: true });

  // Train: tiny_cnn on the new dataset; the curves grow epoch by epoch.
  await page.goto(base + "index.html#/train");
  await page.waitForSelector("#train");
  const spec = await page.$eval("#train select[name=spec]", (s) => [...s.options].map((o) => o.value).find((v) => v.endsWith("/tiny_cnn.yaml")));
  await page.selectOption("#train select[name=spec]", spec);
  await page.selectOption("#train select[name=data]", "shapes");
  await page.fill("#train input[name=epochs]", "4");
  await page.click("#train button");
  await page.waitForFunction(() => {
    const p = document.querySelector("#curves polyline");
    return p && p.getAttribute("points").trim().split(" ").length >= 2;
  }, null, { timeout: 120000 });
  check("the loss curve updated during training (2+ epochs drawn)", true);
  await page.waitForSelector("#train-status[data-state]", { timeout: 120000 });
  const state = await page.getAttribute("#train-status", "data-state");
  check("the training job finished", state === "done", await page.textContent("#train-status"));
  const points = (await page.getAttribute("#curves polyline", "points")).trim().split(" ").length;
  check("the curve has all 4 epochs", points === 4, String(points));
  if (shots) await page.screenshot({ path: join(shots, "train.png"), fullPage: true });

  // Squeeze: the trained model to int8, float vs int8 accuracy, per-layer SQNR.
  await page.goto(base + "index.html#/squeeze");
  await page.waitForSelector("#squeeze select[name=model] option", { state: "attached" });
  await page.selectOption("#squeeze select[name=data]", "shapes");
  await page.click("#squeeze button");
  await page.waitForSelector("#squeeze-status[data-state]", { timeout: 120000 });
  check("quantization finished", (await page.getAttribute("#squeeze-status", "data-state")) === "done", await page.textContent("#squeeze-status"));
  const accRow = await page.locator("#squeeze-result tr", { hasText: "test accuracy" }).textContent();
  check("float and int8 accuracy side by side", /\d+\.\d\d %.*\d+\.\d\d %/.test(accRow ?? ""), accRow ?? "");
  check("the per-layer SQNR chart is drawn", (await page.locator("#squeeze-result svg rect").count()) >= 3);
  if (shots) await page.screenshot({ path: join(shots, "squeeze.png"), fullPage: true });

  // Compile: the int8 model for cortex-m4, measured in QEMU: the fit verdict.
  await page.goto(base + "index.html#/compile");
  await page.waitForSelector("#compile select[name=model] option", { state: "attached" });
  await page.selectOption("#compile select[name=target]", "cortex-m4");
  await page.click("#compile button");
  await page.waitForSelector("#compile-status[data-state]", { timeout: 180000 });
  const verdict = await page.textContent("#verdict").catch(() => "");
  check("the fit verdict for cortex-m4 is shown", /^Fits .*Nano 33 BLE.*\d+ instructions/.test(verdict ?? ""), verdict ?? "");
  check("the per-layer table lists the layers with instructions", (await page.locator("#compile-result tbody tr").count()) >= 5);
  if (shots) await page.screenshot({ path: join(shots, "compile.png"), fullPage: true });

  // Pipelines: a small sweep (one model x one squeeze config on cortex-m4) from YAML.
  await page.goto(base + "index.html#/pipelines");
  await page.waitForSelector("#pipeline textarea");
  await page.fill("#pipeline textarea", [
    "name: browser-sweep", "steps: []", "sweep:", "  data: shapes", `  models: [${spec}]`,
    "  train: {epochs: 1, batch: 16}", "  squeeze: [{name: int8}]", "  targets: [cortex-m4]",
    "  samples: 8", "  on_device: false", ""].join("\n"));
  await page.click("#pipeline button");
  await page.waitForSelector("#pipeline-status[data-state]", { timeout: 180000 });
  check("the sweep pipeline finished", (await page.getAttribute("#pipeline-status", "data-state")) === "done", await page.textContent("#pipeline-status"));
  const row = await page.locator("#sweep tbody tr").first().textContent().catch(() => "");
  check("the sweep's results table has the cortex-m4 row with its verdict", /tiny_cnn.*int8.*cortex-m4.*yes, Pareto, best/.test(row ?? ""), row ?? "");
  check("the Pareto plot is drawn", (await page.locator("#sweep svg circle").count()) === 1);
  const report = await page.getAttribute("#report", "href");
  const html = await (await page.request.get(base + report.replace(/^\//, ""))).text();
  check("the run's HTML report is served", html.includes("<h2 id=sweep>"), html.slice(0, 200));
  if (shots) await page.screenshot({ path: join(shots, "pipelines.png"), fullPage: true });

  // Lineage of the trained model.
  await page.goto(base + "index.html#/lineage");
  await page.waitForSelector("table a");
  const model = page.locator("table tr", { hasText: "float model" }).locator("a").first();  // either run's
  await model.click();
  await page.waitForSelector("#lineage-text");
  const text = await page.textContent("#lineage-text");
  check("the model's lineage runs from the dataset through the training run", /dataset:shapes@10 -> run:\d+ -> \[model:/.test(text ?? ""), text ?? "");
  if (shots) await page.screenshot({ path: join(shots, "lineage.png"), fullPage: true });
  await page.goto(base + "index.html#/jobs");
  await page.waitForSelector("h1:text('Jobs')");
  if (shots) await page.screenshot({ path: join(shots, "jobs.png"), fullPage: true });
  check("no errors in the browser console", errors.length === 0, errors.join(" | "));
}

try {
  if (shots) mkdirSync(shots, { recursive: true });
  await main();
} catch (e) {
  check("the browser test ran", false, String(e?.stack ?? e));
} finally {
  await browser?.close();
  server?.kill("SIGTERM");
  rmSync(work, { recursive: true, force: true });
}
console.log(`browser: ${failures ? failures + " failed" : "all passed"}`);
process.exit(failures ? 1 : 0);
