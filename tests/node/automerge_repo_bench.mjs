// What `houmon-bench sync` compares our relay with (bench_sync.rs, bench_vs_automerge_repo).
// Usage, from anywhere (modules are found by Node's own lookup from this file, i.e. in
// tests/node/node_modules, installed from package-lock.json with `npm ci`):
//   node automerge_repo_bench.mjs crdt  <n> <data dir>
//   node automerge_repo_bench.mjs blobs <n> <data dir>
// Prints one JSON line: {"mode":…,"n":N,"seen":K,"seconds":S,"per_s":K/S}. Everything on 127.0.0.1.
//
// crdt:  n changes to one Automerge document by a writer Repo, each appending a 1 KB string
//        to a list (a collaborative text: one op per character), through
//        @automerge/automerge-repo-sync-server, then a fresh reader Repo loads the document from
//        the server. The clock includes the writer's own Automerge work; the server applies
//        and merges every change (CRDT work) and stores the document. Our relay does no CRDT work.
// blobs: like for like with our relay: n opaque 1 KB blobs from one client, stored by the relay,
//        then a second client catches up. Clients are automerge-repo's WebSocket client adapter,
//        the relay is automerge-repo's NodeWSServerAdapter plus the minimal store-and-forward
//        our relay does (no Repo, no CRDT): each blob is saved with their
//        NodeFSStorageAdapter, acknowledged per batch of 100 (as our appends are), and sent
//        to a reader that asks for everything after a cursor.
import net from "node:net"

const [mode, nStr, dataDir] = process.argv.slice(2)
const N = parseInt(nStr, 10)
if (!["crdt", "blobs"].includes(mode) || !(N > 0) || !dataDir) {
  console.error("usage: node automerge_repo_bench.mjs <crdt|blobs> <n> <data dir>")
  process.exit(2)
}
const BLOB = 1024
const BATCH = 100

const { BrowserWebSocketClientAdapter } = await import("@automerge/automerge-repo-network-websocket")

const wait = (ms) => new Promise((r) => setTimeout(r, ms))
const result = (seen, secs) => {
  console.log(JSON.stringify({ mode, n: N, seen, seconds: secs, per_s: seen / secs }))
  process.exit(seen === N ? 0 : 1)
}

if (mode === "crdt") {
  // The sync server listens on all interfaces; keep it on loopback.
  const origListen = net.Server.prototype.listen
  net.Server.prototype.listen = function (...args) {
    if (typeof args[0] === "number") args.splice(1, 0, "127.0.0.1")
    return origListen.apply(this, args)
  }
  process.env.DATA_DIR = dataDir
  process.env.PORT = "0"
  // src/server.js, not the package's main (src/index.js starts a server on import).
  const { Server } = await import("@automerge/automerge-repo-sync-server/src/server.js")
  const { Repo, cbor } = await import("@automerge/automerge-repo")
  const { WebSocket } = await import("ws")
  const server = new Server()
  await server.ready()
  // Find the port the server got.
  let port = 0
  for (const h of process._getActiveHandles()) {
    if (h instanceof net.Server && h.address && h.address()) port = h.address().port || port
  }
  const url = `ws://127.0.0.1:${port}`
  // "Listening" comes before the server's Repo has attached its network adapter (after it
  // loads its storage id); a client joining before that is ignored until its 5 s retry. Wait
  // (untimed) until a join is answered.
  const answers = () =>
    new Promise((resolve) => {
      const s = new WebSocket(url)
      const done = (ok) => {
        clearTimeout(timer)
        s.terminate()
        resolve(ok)
      }
      const timer = setTimeout(() => done(false), 200)
      s.on("open", () => s.send(cbor.encode({ type: "join", senderId: "probe", supportedProtocolVersions: ["1"] })))
      s.on("message", (d) => done(cbor.decode(new Uint8Array(d)).type === "peer"))
      s.on("error", () => done(false))
    })
  let up = false
  for (let i = 0; i < 50 && !up; i++) up = await answers()
  if (!up) throw new Error("the sync server never answered a join")
  const payload = "x".repeat(BLOB)

  const t0 = performance.now()
  const writer = new Repo({ network: [new BrowserWebSocketClientAdapter(url)] })
  const handle = writer.create({ items: [] })
  for (let i = 0; i < N; i++) {
    handle.change((d) => {
      d.items.push(payload + i)
    })
  }
  // A fresh device catches up from the server alone.
  await wait(50)
  const reader = new Repo({ network: [new BrowserWebSocketClientAdapter(url)] })
  let seen = 0
  const deadline = Date.now() + 600_000
  while (Date.now() < deadline) {
    try {
      const d = reader.find(handle.url).docSync()
      seen = d && d.items ? d.items.length : 0
    } catch {
      seen = 0
    }
    if (seen >= N) break
    await wait(50)
  }
  result(seen, (performance.now() - t0) / 1000)
} else {
  const { WebSocketServer } = await import("ws")
  const { NodeWSServerAdapter } = await import("@automerge/automerge-repo-network-websocket")
  const { NodeFSStorageAdapter } = await import("@automerge/automerge-repo-storage-nodefs")

  // The relay.
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 })
  await new Promise((r) => wss.once("listening", r))
  const relay = new NodeWSServerAdapter(wss)
  const storage = new NodeFSStorageAdapter(dataDir)
  const log = [] // seq - 1 -> storage key
  let pending = []
  relay.connect("relay", {})
  relay.on("message", async (m) => {
    if (m.type === "blob") {
      const key = [m.documentId, "blob", String(log.length + 1).padStart(10, "0")]
      log.push(key)
      pending.push(storage.save(key, m.data))
      if (m.ack) {
        const saved = pending
        pending = []
        await Promise.all(saved)
        relay.send({ type: "stored", senderId: "relay", targetId: m.senderId, cursor: log.length })
      }
    } else if (m.type === "pull") {
      for (let seq = m.after + 1; seq <= log.length; seq++) {
        const data = await storage.load(log[seq - 1])
        relay.send({ type: "blob", senderId: "relay", targetId: m.senderId, seq, data })
      }
      relay.send({ type: "end", senderId: "relay", targetId: m.senderId, cursor: log.length })
    }
  })

  // Both clients connect (and join) before the clock starts, as our enrolled devices do.
  const url = `ws://127.0.0.1:${wss.address().port}`
  const client = async (peerId) => {
    const a = new BrowserWebSocketClientAdapter(url)
    const joined = new Promise((r) => a.once("peer-candidate", r))
    a.connect(peerId, {})
    await joined
    return a
  }
  const writer = await client("writer")
  const reader = await client("reader")
  const documentId = "blobs"

  const t0 = performance.now()
  let stored = 0
  let onStored
  writer.on("message", (m) => {
    if (m.type === "stored") {
      stored = m.cursor
      onStored()
    }
  })
  for (let sent = 0; sent < N; ) {
    const k = Math.min(BATCH, N - sent)
    const acked = new Promise((r) => (onStored = r))
    for (let i = 0; i < k; i++) {
      const data = new Uint8Array(BLOB).fill((sent + i) & 0xff)
      writer.send({ type: "blob", senderId: "writer", targetId: "relay", documentId, data, ack: i === k - 1 })
    }
    await acked
    sent += k
  }
  if (stored !== N) throw new Error(`relay stored ${stored} of ${N}`)
  let seen = 0
  await new Promise((resolve, reject) => {
    reader.on("message", (m) => {
      if (m.type === "blob") {
        if (m.data.byteLength !== BLOB || m.data[0] !== ((m.seq - 1) & 0xff)) reject(new Error(`bad blob ${m.seq}`))
        seen++
      } else if (m.type === "end") resolve()
    })
    reader.send({ type: "pull", senderId: "reader", targetId: "relay", after: 0 })
  })
  result(seen, (performance.now() - t0) / 1000)
}
