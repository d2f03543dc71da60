// Same append + catch-up workload as `houmon-bench sync` (vs_automerge_repo), through
// @automerge/automerge-repo-sync-server. Usage:
//   node automerge_repo_bench.mjs <node_modules dir> <changes> <data dir>
// Prints one JSON line: {"changes":N,"seconds":S,"per_s":R}. Everything on 127.0.0.1.
import net from "node:net"
import path from "node:path"
import { pathToFileURL } from "node:url"

const [nm, nStr, dataDir] = process.argv.slice(2)
const N = parseInt(nStr)
const serverPkg = path.join(nm, "@automerge/automerge-repo-sync-server")
const inner = path.join(serverPkg, "node_modules/@automerge")
const imp = (p) => import(pathToFileURL(p).href)

// The sync server listens on all interfaces; keep it on loopback.
const origListen = net.Server.prototype.listen
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === "number") args.splice(1, 0, "127.0.0.1")
  return origListen.apply(this, args)
}

process.env.DATA_DIR = dataDir
process.env.PORT = "0"
const { Server } = await imp(path.join(serverPkg, "src/server.js"))
const server = new Server()
await server.ready()
await new Promise((r) => setTimeout(r, 100))
// Find the port the server got.
let port = 0
for (const h of process._getActiveHandles()) {
  if (h instanceof net.Server && h.address && h.address()) port = h.address().port || port
}
const { Repo } = await imp(path.join(inner, "automerge-repo/dist/index.js"))
const { WebSocketClientAdapter, BrowserWebSocketClientAdapter } = await imp(
  path.join(inner, "automerge-repo-network-websocket/dist/index.js"),
)
const Adapter = WebSocketClientAdapter || BrowserWebSocketClientAdapter
const url = `ws://127.0.0.1:${port}`
const payload = "x".repeat(1024)

const t0 = performance.now()
const writer = new Repo({ network: [new Adapter(url)], storage: undefined })
const handle = writer.create({ items: [] })
for (let i = 0; i < N; i++) {
  handle.change((d) => {
    d.items.push(payload + i)
  })
}
// A fresh device catches up from the server alone.
await new Promise((r) => setTimeout(r, 50))
const reader = new Repo({ network: [new Adapter(url)], storage: undefined })
let seen = 0
const deadline = Date.now() + 600_000
while (Date.now() < deadline) {
  try {
    const h = await reader.find(handle.url)
    const d = h.docSync ? h.docSync() : h.doc()
    seen = d && d.items ? d.items.length : 0
  } catch (e) {
    seen = 0
  }
  if (seen >= N) break
  await new Promise((r) => setTimeout(r, 50))
}
const secs = (performance.now() - t0) / 1000
console.log(JSON.stringify({ changes: N, seen, seconds: secs, per_s: seen / secs }))
process.exit(0)
