// Drives the gateway's playground page in Debian's headless Chromium (PLAYGROUND_URL, GATEWAY_KEY,
// PLAYGROUND_MODE, PLAYGROUND_PROMPT, PLAYGROUND_SEED, SCREENSHOT): types a prompt, sends it, waits
// for the streamed reply to finish, takes a screenshot and prints the reply's text as the DOM holds it.
import { chromium } from "playwright-core";

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
  const chunks = [];
  page.on("response", (r) => { if (r.url().includes("/v1/")) chunks.push(r.status()); });
  await page.goto(process.env.PLAYGROUND_URL);
  await page.fill("#key", process.env.GATEWAY_KEY);
  await page.click("#reload");
  await page.waitForFunction(() => document.querySelector("#model").options.length > 0 && document.querySelector("#model").value !== "");
  await page.selectOption("#mode", process.env.PLAYGROUND_MODE ?? "completion");
  await page.fill("#max", "24");
  await page.fill("#temp", "0.8");
  await page.fill("#seed", process.env.PLAYGROUND_SEED ?? "11");
  await page.fill("#input", process.env.PLAYGROUND_PROMPT);
  await page.click("#send");
  // Partial text shows while it streams; the turn is marked done at the end.
  await page.waitForSelector(".turn.assistant[data-done=true]", { timeout: 60000 });
  const reply = await page.$eval(".turn.assistant .text", (e) => e.textContent);
  const error = await page.$eval(".turn.assistant", (e) => e.querySelector(".text").classList.contains("error") || e.classList.contains("error"));
  const stats = await page.$eval("#stats", (e) => e.textContent);
  const model = await page.$eval("#model", (e) => e.value);
  await page.screenshot({ path: process.env.SCREENSHOT, fullPage: true });
  console.log(JSON.stringify({ reply, error, stats, model, statuses: chunks }));
} finally {
  await browser.close();
}
