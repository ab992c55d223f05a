#!/usr/bin/env node
// The mock collector (TEST TOOLING ONLY): asks the mock leader's collection
// shortcut for both aggregate shares and unshards them with @divviup/prio3.
// Prints one JSON line {"result": ..., "report_count": N, "rejected": N}.
import { readFileSync } from "node:fs";
import { loadNpm, vdafFromSpec, unhex, unb64url, b64url, decodeAggShare, jsonResult } from "./lib.mjs";

const USAGE = "usage: node collect.mjs --leader URL --task FILE --task-id ID";

async function main() {
  const o = {};
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    if (!["--leader", "--task", "--task-id"].includes(argv[i]) || i + 1 >= argv.length)
      throw new Error(`bad arguments\n${USAGE}`);
    o[argv[i].slice(2)] = argv[i + 1];
  }
  if (!o.leader || !o.task || !o["task-id"]) throw new Error(USAGE);
  const want = b64url(unb64url(o["task-id"], 32, "task id"));
  const tasks = JSON.parse(readFileSync(o.task, "utf8"));
  const task = (Array.isArray(tasks) ? tasks : [tasks]).find((t) => t.task_id === want);
  if (!task) throw new Error(`task ${want} is not in ${o.task}`);
  const npm = await loadNpm();
  const vdaf = vdafFromSpec(npm, task.vdaf);
  const base = o.leader.endsWith("/") ? o.leader : o.leader + "/";
  const r = await fetch(new URL("mock/collect", base), { method: "POST",
    headers: { "Content-Type": "application/json" }, body: JSON.stringify({ task_id: want }) });
  const text = await r.text();
  if (!r.ok) throw new Error(`collect: HTTP ${r.status} ${text}`);
  const c = JSON.parse(text);
  const shares = [decodeAggShare(vdaf, unhex(c.leader_agg_share)), decodeAggShare(vdaf, unhex(c.helper_agg_share))];
  const result = vdaf.unshard(null, shares, c.report_count);
  process.stdout.write(JSON.stringify({ result: jsonResult(result), report_count: c.report_count,
    rejected: c.rejected_count }) + "\n");
}

main().catch((e) => {
  process.stderr.write(`collect: ${e.message}\n`);
  process.exit(1);
});
