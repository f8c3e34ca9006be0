// Stops the deployment: run.sh's trap stops every node, simulator and the edge, and waits.
import { deployment } from "./deployment";

export default async function globalTeardown() {
  const d = deployment();
  if (d.fcPid) {
    try {
      process.kill(d.fcPid, "SIGTERM");
    } catch {
      /* gone */
    }
  }
  try {
    process.kill(d.pid, "SIGTERM");
  } catch {
    return;
  }
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    try {
      process.kill(d.pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  try {
    process.kill(-d.pid, "SIGKILL");
  } catch {
    /* gone */
  }
}
