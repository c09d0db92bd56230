// test/compat/clients.mjs -- what Node.js frameworks written for pgvector do
// to a database: Knex's createExtensionIfNotExists('vector'), LangChain's
// PGVectorStore (initialize, addDocuments, createHnswIndex,
// similaritySearch) and TypeORMVectorStore, with a deterministic fake
// embedding so that no model or network is needed.  Run by clients.sh,
// which installs the packages; connection from PGHOST, PGPORT, PGUSER and
// the database named by PGDATABASE.  Prints one "ok"/"not ok" line per
// step and exits non-zero if any failed.

import pg from "pg";
import knexLib from "knex";
import { Embeddings } from "@langchain/core/embeddings";
import { Document } from "@langchain/core/documents";
import { PGVectorStore } from "@langchain/community/vectorstores/pgvector";
import { TypeORMVectorStore } from "@langchain/community/vectorstores/typeorm";

const conn = {
  host: process.env.PGHOST,
  port: Number(process.env.PGPORT || 5432),
  user: process.env.PGUSER,
  database: process.env.PGDATABASE,
};

// A bag of words hashed into 64 dimensions, normalised: texts sharing
// words get close vectors, and every run gets the same ones.
const DIMS = 64;
class WordEmbeddings extends Embeddings {
  constructor() { super({}); }
  vec(text) {
    const v = new Array(DIMS).fill(0);
    for (const w of text.toLowerCase().split(/[^a-z]+/).filter(Boolean)) {
      let h = 7;
      for (const c of w) h = (h * 31 + c.charCodeAt(0)) % 100003;
      v[h % DIMS] += 1;
    }
    const n = Math.hypot(...v) || 1;
    return v.map((x) => x / n);
  }
  async embedDocuments(texts) { return texts.map((t) => this.vec(t)); }
  async embedQuery(text) { return this.vec(text); }
}

const docs = [
  "cats purr and sleep all day",
  "dogs bark at the mailman",
  "a kitten is a young cat",
  "stock markets fell sharply today",
  "the central bank raised interest rates",
  "puppies are young dogs",
].map((t, i) => new Document({ pageContent: t, metadata: { n: i } }));

let failed = 0;
let n = 0;
async function step(what, fn) {
  n += 1;
  try {
    const detail = await fn();
    console.log(`ok ${n} - ${what}${detail ? ": " + detail : ""}`);
  } catch (e) {
    failed += 1;
    console.log(`not ok ${n} - ${what}: ${e && e.message ? e.message : e}`);
  }
}

// Knex (TypeORM migrations and others run the same statement)
const knex = knexLib({ client: "pg", connection: conn });
await step("knex createExtensionIfNotExists('vector')", async () => {
  await knex.schema.createExtensionIfNotExists("vector");
  await knex.schema.createExtensionIfNotExists("vector");
  const r = await knex.raw("SELECT extversion FROM pg_extension WHERE extname = 'vector'");
  return `extversion ${r.rows[0].extversion}`;
});
await step("knex: table with vector(3), hnsw index, k-NN", async () => {
  await knex.schema.createTable("knex_items", (t) => {
    t.increments("id");
    t.specificType("embedding", "vector(3)");
  });
  await knex("knex_items").insert([
    { embedding: "[1,1,1]" }, { embedding: "[2,2,2]" }, { embedding: "[1,1,2]" },
  ]);
  await knex.raw("CREATE INDEX ON knex_items USING hnsw (embedding vector_l2_ops)");
  const r = await knex.raw(
    "SELECT id FROM knex_items ORDER BY embedding <-> ? LIMIT 2", ["[1,1,1]"]);
  const ids = r.rows.map((x) => x.id).join(",");
  if (ids !== "1,3") throw new Error(`nearest ids ${ids}, expected 1,3`);
  return `nearest ids ${ids}`;
});
await knex.destroy();

// LangChain PGVectorStore
const embeddings = new WordEmbeddings();
await step("LangChain PGVectorStore: initialize, addDocuments, createHnswIndex, similaritySearch", async () => {
  const store = await PGVectorStore.initialize(embeddings, {
    postgresConnectionOptions: conn,
    tableName: "lc_docs",
    dimensions: DIMS,
    distanceStrategy: "cosine",
  });
  try {
    await store.addDocuments(docs);
    await store.createHnswIndex({ dimensions: DIMS });
    const hits = await store.similaritySearch("young kitten cat", 2);
    const got = hits.map((d) => d.metadata.n).join(",");
    const withScore = await store.similaritySearchWithScore("interest rates bank", 1);
    return `top 2 for "young kitten cat": docs ${got}; top for "interest rates bank": ` +
      `doc ${withScore[0][0].metadata.n} (distance ${withScore[0][1].toFixed(4)})`;
  } finally {
    await store.end();
  }
});

// LangChain TypeORMVectorStore
await step("LangChain TypeORMVectorStore: fromDataSource, ensureTableInDatabase, addDocuments, similaritySearch", async () => {
  const store = await TypeORMVectorStore.fromDataSource(embeddings, {
    postgresConnectionOptions: { type: "postgres", ...conn, username: conn.user },
    tableName: "typeorm_docs",
  });
  try {
    await store.ensureTableInDatabase();
    await store.addDocuments(docs);
    const hits = await store.similaritySearch("dogs and puppies", 2);
    return `top 2 for "dogs and puppies": docs ${hits.map((d) => d.metadata.n).join(",")}`;
  } finally {
    await store.appDataSource.destroy();
  }
});

// cross-check the LangChain answer against an exact scan, in SQL
await step("PGVectorStore's rows: k-NN through an hnsw index equals an exact scan", async () => {
  const c = new pg.Client(conn);
  await c.connect();
  try {
    const q = `[${embeddings.vec("young kitten cat").join(",")}]`;
    await c.query("CREATE INDEX lc_docs_plain_hnsw ON lc_docs USING hnsw (embedding vector_cosine_ops)");
    const sql = "SELECT array_agg(text ORDER BY d, text) AS a FROM (SELECT text, embedding <=> $1 AS d FROM lc_docs ORDER BY embedding <=> $1 LIMIT 3) s";
    await c.query("SET enable_seqscan = off");
    const plan = await c.query(`EXPLAIN ${sql.replace(/\$1/g, `'${q}'`)}`);
    if (!plan.rows.some((r) => /Index Scan using lc_docs_plain_hnsw/.test(r["QUERY PLAN"])))
      throw new Error("the query did not use the hnsw index");
    const viaIndex = (await c.query(sql, [q])).rows[0].a.join(" | ");
    await c.query("SET enable_seqscan = on; SET enable_indexscan = off");
    const exact = (await c.query(sql, [q])).rows[0].a.join(" | ");
    if (viaIndex !== exact) throw new Error(`index: ${viaIndex}; exact: ${exact}`);
    return viaIndex;
  } finally {
    await c.end();
  }
});

console.log(`${n - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
