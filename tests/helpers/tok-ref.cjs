// tok-ref.cjs — the test reference tokenizer: @lenml/tokenizers (a port of transformers.js)
// installed by `make deps` into build/npm. Reads NDJSON records on stdin and writes one a line:
//   node tok-ref.cjs NPMDIR MODELDIR encode   {"text"} -> {"ids"}  (add_special_tokens: false)
//   node tok-ref.cjs NPMDIR MODELDIR special  {"text"} -> {"ids"}  (add_special_tokens: true)
//   node tok-ref.cjs NPMDIR MODELDIR decode   {"ids"}  -> {"text"} (special tokens skipped)
//   node tok-ref.cjs NPMDIR MODELDIR decode-special                (special tokens kept)
//   node tok-ref.cjs NPMDIR MODELDIR bench    {"text"} -> one line: {"tokens", "seconds"}
// transformers' clean_up_tokenization_spaces is off: recycle decodes as tokenizers does.
'use strict';
const fs = require('fs');
const path = require('path');
const [npm, dir, mode] = process.argv.slice(2);
const { TokenizerLoader } = require(path.join(npm, 'node_modules/@lenml/tokenizers'));
const tok = TokenizerLoader.fromPreTrained({
	tokenizerJSON: JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')),
	tokenizerConfig: JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8')),
});
const recs = fs.readFileSync(0, 'utf8').split('\n').filter((l) => l.length).map((l) => JSON.parse(l));
const out = [];
if (mode === 'bench') {
	let n = 0;
	const t0 = process.hrtime.bigint();
	for (const r of recs) n += tok.encode(r.text, { add_special_tokens: false }).length;
	const s = Number(process.hrtime.bigint() - t0) / 1e9;
	out.push(JSON.stringify({ tokens: n, seconds: s }));
} else {
	for (const r of recs) {
		if (mode === 'encode' || mode === 'special')
			out.push(JSON.stringify({ ids: tok.encode(r.text, { add_special_tokens: mode === 'special' }) }));
		else
			// (the port refuses an empty list; tokenizers decodes it to "")
			out.push(JSON.stringify({ text: r.ids.length === 0 ? '' : tok.decode(r.ids, { skip_special_tokens: mode === 'decode',
				clean_up_tokenization_spaces: false }) }));
	}
}
fs.writeFileSync(1, out.join('\n') + (out.length ? '\n' : ''));
