// tok-cmp.cjs — compare a field of two NDJSON files line by line (JSON values, not their
// spelling): prints "N equal, M differ" and the first few differences with their input line.
//   node tok-cmp.cjs FIELD A B [INPUT]
'use strict';
const fs = require('fs');
const [field, a, b, input] = process.argv.slice(2);
const lines = (f) => fs.readFileSync(f, 'utf8').split('\n').filter((l) => l.length).map((l) => JSON.parse(l));
const A = lines(a), B = lines(b), I = input ? lines(input) : [];
let eq = 0, ne = 0;
if (A.length !== B.length) { console.log(`line counts differ: ${A.length} and ${B.length}`); process.exit(1); }
for (let i = 0; i < A.length; i++) {
	if (JSON.stringify(A[i][field]) === JSON.stringify(B[i][field])) { eq++; continue; }
	if (++ne <= 5)
		console.log(`line ${i + 1}: ${JSON.stringify(I[i] ?? '')}\n  ${a}: ${JSON.stringify(A[i][field])}\n  ${b}: ${JSON.stringify(B[i][field])}`);
}
console.log(`${eq} equal, ${ne} differ`);
process.exit(ne ? 1 : 0);
