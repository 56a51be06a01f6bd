// tok-ref.cjs — the test reference tokenizer: @lenml/tokenizers (a port of transformers.js)
// installed by `make deps` into build/npm. Reads NDJSON records on stdin and writes one a line:
//   node tok-ref.cjs NPMDIR MODELDIR encode   {"text"} -> {"ids"}  (add_special_tokens: false)
//   node tok-ref.cjs NPMDIR MODELDIR special  {"text"} -> {"ids"}  (add_special_tokens: true)
//   node tok-ref.cjs NPMDIR MODELDIR decode   {"ids"}  -> {"text"} (special tokens skipped)
//   node tok-ref.cjs NPMDIR MODELDIR decode-special                (special tokens kept)
//   node tok-ref.cjs NPMDIR MODELDIR bench    {"text"} -> one line: {"tokens", "seconds"}
// transformers' clean_up_tokenization_spaces is off: recycle decodes as tokenizers does.
// With TOK_REF_ONIG_SPACE=1 the Split regexes' \s and \S mean what they mean in Oniguruma, the
// regex engine of Hugging Face tokenizers (the White_Space property: U+0085 is a space, U+FEFF is
// not), instead of JavaScript's (where U+FEFF is a space and U+0085 is not).
'use strict';
const fs = require('fs');
const path = require('path');
const [npm, dir, mode] = process.argv.slice(2);
const { TokenizerLoader } = require(path.join(npm, 'node_modules/@lenml/tokenizers'));
const ONIG_SPACE = '\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
function onigSpace(re) {
	let out = '', inClass = false;
	for (let i = 0; i < re.length; i++) {
		const c = re[i];
		if (c === '\\' && i + 1 < re.length) {
			const e = re[++i];
			if (e === 's') out += inClass ? ONIG_SPACE : '[' + ONIG_SPACE + ']';
			else if (e === 'S' && !inClass) out += '[^' + ONIG_SPACE + ']';
			else if (e === 'S') throw new Error('\\S in a class');
			else out += c + e;
		} else {
			if (c === '[') inClass = true;
			else if (c === ']') inClass = false;
			out += c;
		}
	}
	return out;
}
function patch(o) {
	if (Array.isArray(o)) o.forEach(patch);
	else if (o && typeof o === 'object') {
		if (o.type === 'Split' && o.pattern && o.pattern.Regex) o.pattern.Regex = onigSpace(o.pattern.Regex);
		Object.values(o).forEach(patch);
	}
}
const tj = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'));
if (process.env.TOK_REF_ONIG_SPACE === '1') patch(tj.pre_tokenizer);
const tok = TokenizerLoader.fromPreTrained({
	tokenizerJSON: tj,
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
