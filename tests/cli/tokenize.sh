#!/bin/sh
# tokenize: encoding and decoding with two small tokenizers written here (a SentencePiece-style
# one with byte fallback, fused unknowns and added tokens carrying every flag, and a byte-level
# one), --special both ways, files and standard input, and every bad option or input. Exactness on
# real tokenizers is tests/cli/tokenize-ref.sh.
. "${RECYCLE_TOP:-$(dirname "$0")/../..}/tests/lib.sh"

ok_run "--help" tokenize --help
for o in --decode --special --help --version; do
	grep -q -- "$o" out || t_notok "--help mentions $o"
done
ok_run "--version" tokenize --version
check "--version names the program" 'grep -q "^tokenize (recycle) " out'

# SentencePiece style (Llama 2, Mistral): ▁ prepended and for spaces, merges in both spellings.
mkdir spm
cat > spm/tokenizer.json <<'J'
{"version":"1.0","truncation":null,"padding":null,
 "added_tokens":[
  {"id":0,"content":"<unk>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},
  {"id":1,"content":"<s>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},
  {"id":2,"content":"</s>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},
  {"id":10,"content":"<x>","single_word":false,"lstrip":true,"rstrip":true,"normalized":false,"special":false},
  {"id":11,"content":"zz","single_word":true,"lstrip":false,"rstrip":false,"normalized":false,"special":false},
  {"id":12,"content":"\u2581c","single_word":false,"lstrip":false,"rstrip":false,"normalized":true,"special":false}],
 "normalizer":{"type":"Sequence","normalizers":[{"type":"Prepend","prepend":"\u2581"},{"type":"Replace","pattern":{"String":" "},"content":"\u2581"}]},
 "pre_tokenizer":null,
 "post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<s>","type_id":0}},{"Sequence":{"id":"A","type_id":0}}],"pair":[],"special_tokens":{"<s>":{"id":"<s>","ids":[1],"tokens":["<s>"]}}},
 "decoder":{"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"\u2581"},"content":" "},{"type":"ByteFallback"},{"type":"Fuse"},{"type":"Strip","content":" ","start":1,"stop":0}]},
 "model":{"type":"BPE","dropout":null,"unk_token":"<unk>","continuing_subword_prefix":null,"end_of_word_suffix":null,"fuse_unk":true,"byte_fallback":true,
  "vocab":{"<unk>":0,"<s>":1,"</s>":2,"\u2581":3,"a":4,"b":5,"ab":6,"\u2581ab":7,"c":8,"<0x64>":9},
  "merges":["a b",["\u2581","ab"]]}}
J
cat > in <<'J'
{"text":"ab"}
{"text":"abc","id":"x","n":[1,2.50]}
{"text":"ab ab"}
{"text":"d"}
{"text":"éé"}
{"text":"<s>ab</s>"}
{"text":"ab <x> ab"}
{"text":"zz"}
{"text":"azz"}
{"text":"a zz"}
{"text":"c"}
{"text":""}
J
cat > want <<'J'
{"text":"ab","ids":[7]}
{"text":"abc","id":"x","n":[1,2.50],"ids":[7,8]}
{"text":"ab ab","ids":[7,7]}
{"text":"d","ids":[3,9]}
{"text":"éé","ids":[3,0]}
{"text":"<s>ab</s>","ids":[1,7,2]}
{"text":"ab <x> ab","ids":[7,10,7]}
{"text":"zz","ids":[11]}
{"text":"azz","ids":[3,4,0]}
{"text":"a zz","ids":[3,4,3,11]}
{"text":"c","ids":[12]}
{"text":"","ids":[]}
J
# merges a,b then ▁,ab; d by byte fallback; é has no byte token: one fused <unk>; <x> takes the
# spaces on both sides (lstrip, rstrip); zz only as a word of its own; ▁c matched after the
# normalizer made it; other fields pass through byte for byte.
ok_run "encode (directory)" tokenize spm in
cmp_files "ids" want out
ok_run "encode (tokenizer.json, stdin)" sh -c 'tokenize spm/tokenizer.json < in'
cmp_files "same ids from the file and stdin" want out
ok_run "encode two files" tokenize spm in in
check "two files: both, in order" '[ $(wc -l < out) -eq 24 ] && [ "$(head -12 out)" = "$(cat want)" ]'

# --special: the post-processor's template (<s> first).
ok_run "--special encode" tokenize --special spm in
check "--special puts <s> first" '[ "$(sed -n 2p out)" = "{\"text\":\"abc\",\"id\":\"x\",\"n\":[1,2.50],\"ids\":[1,7,8]}" ] &&
	[ "$(sed -n 12p out)" = "{\"text\":\"\",\"ids\":[1]}" ]'
# tokenizer_config.json's add_bos_token/add_eos_token win over the template.
cp -r spm cfg
echo '{"add_bos_token":false,"add_eos_token":true,"eos_token":{"content":"</s>","__type":"AddedToken"}}' > cfg/tokenizer_config.json
ok_run "-s with add_eos_token" tokenize -s cfg in
check "EOS last, no BOS" '[ "$(sed -n 1p out)" = "{\"text\":\"ab\",\"ids\":[7,2]}" ]'
echo '{"add_bos_token":true,"bos_token":"<nope>"}' > cfg/tokenizer_config.json
fail_run 1 'tokenize: cfg/tokenizer.json: tokenizer_config.json: add_bos_token is true but bos_token is "<nope>", not a token' \
	"add_bos_token with an unknown bos_token" tokenize cfg in
echo '{"add_bos_token":' > cfg/tokenizer_config.json
fail_run 1 'tokenize: cfg/tokenizer_config.json: not valid JSON' "a broken tokenizer_config.json" tokenize cfg in

# Decoding: ▁ → space, bytes, one leading space stripped; special tokens only with --special.
printf '%s\n' '{"ids":[7,8]}' '{"ids":[1,7]}' '{"ids":[3,9]}' '{"ids":[]}' '{"ids":[7,10,7],"k":true}' > ids
ok_run "--decode" tokenize --decode spm ids
sed 's/.*"text":"\([^"]*\)".*/\1/' out > got
printf '%s\n' abc ab d '' 'ab<x> ab' > wantd
cmp_files "decoded text" wantd got
ok_run "-d -s keeps special tokens" tokenize -d -s spm ids
check "<s> kept" 'grep -qx "{\"ids\":\\[1,7\\],\"text\":\"<s> ab\"}" out'
ok_run "encode then decode" sh -c 'tokenize spm in | tokenize -d spm'
# (not for the unknown é, the special tokens, the spaces <x> strips, nor the unknown z of azz)
sed -e 5,7d -e 9d -e 's/^{"text":"\([^"]*\)".*/\1/' in > a
sed -e 5,7d -e 9d -e 's/^{"text":"\([^"]*\)".*/\1/' out > b
cmp_files "round trip" a b

# Byte level (GPT-2 style): the pre-tokenizer regex, byte alphabet, lossy UTF-8 on decode.
awk 'BEGIN { n = 0; printf "{\"model\":{\"type\":\"BPE\",\"vocab\":{"
	for (b = 0; b < 256; b++) { keep = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174
		cp = keep ? b : 256 + n++; k = cp == 34 ? "\\\"" : cp == 92 ? "\\\\" : sprintf("\\u%04x", cp)
		printf "%s\"%s\":%d", (b ? "," : ""), k, b }
	printf ",\"\\u0120t\":256,\"he\":257,\"\\u0120the\":258},\"merges\":[[\"\\u0120\",\"t\"],\"h e\",\"\\u0120t he\"]},"
	printf "\"pre_tokenizer\":{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"use_regex\":true},"
	printf "\"decoder\":{\"type\":\"ByteLevel\"},\"added_tokens\":[{\"id\":259,\"content\":\"<|eot|>\",\"special\":true}]}\n" }' > bl.json
echo '{"text":"the the, théé<|eot|>"}' > t1
ok_run "byte-level encode" tokenize bl.json t1
check "byte-level ids" 'grep -qF "\"ids\":[116,257,258,44,256,104,195,169,195,169,259]" out'
echo '{"ids":[258,195,259,195,169]}' > t2
ok_run "byte-level decode" tokenize -d bl.json t2
check "a lone lead byte is U+FFFD, <|eot|> skipped" 'grep -qF "\"text\":\" the�é\"" out'
ok_run "byte-level decode --special" tokenize -ds bl.json t2
check "<|eot|> kept" 'grep -qF "\"text\":\" the�<|eot|>é\"" out'

# Bad command lines.
fail_run 2 'tokenize: no tokenizer given' "no tokenizer" tokenize
fail_run 2 'unknown option' "unknown option" tokenize --bogus spm
fail_run 2 'standard input is given twice' "stdin twice" tokenize spm - -

# Bad inputs.
fail_run 1 'tokenize: nothere: No such file' "missing tokenizer" tokenize nothere
mkdir empty
fail_run 1 'tokenize: empty/tokenizer.json: No such file' "directory without tokenizer.json" tokenize empty
echo '{"model":' > bad.json
fail_run 1 'tokenize: bad.json: not valid JSON' "broken tokenizer.json" tokenize bad.json
printf '{"model":{"type":"BPE","vocab":{"a\377":0},"merges":[]}}' > bad.json
fail_run 1 'tokenize: bad.json: not valid UTF-8' "a tokenizer.json that is not UTF-8" tokenize bad.json
echo '[1]' > bad.json
fail_run 1 'tokenize: bad.json: not a JSON object' "tokenizer.json not an object" tokenize bad.json
for m in '{"type":"WordPiece","vocab":{}}|model type "WordPiece" is not supported \(only BPE\)' \
	 '{"type":"Unigram","vocab":[]}|model type "Unigram" is not supported' \
	 '{"type":"BPE","vocab":{"a":0},"merges":["a b"]}|model.merges\[0\]: a token is not in the vocabulary' \
	 '{"type":"BPE","vocab":{"a":0},"merges":["ab"]}|model.merges\[0\] "ab" is not two tokens separated by a space' \
	 '{"type":"BPE","vocab":{"a":0},"merges":[]}|^$' \
	 '{"type":"BPE","vocab":{"a":0},"merges":[],"dropout":0.1}|dropout is not supported' \
	 '{"type":"BPE","vocab":{"a":-1},"merges":[]}|model.vocab\["a"\] = -1 is out of range' \
	 '{"type":"BPE","vocab":{"a":4194304},"merges":[]}|model.vocab\["a"\] = 4194304 is out of range \[0, 4194304\)' \
	 '{"type":"BPE","vocab":{"a":0}}|model.merges is missing'; do
	echo "{\"model\":${m%%|*}}" > m.json
	re=${m#*|}
	if [ "$re" = '^$' ]; then ok_run "a minimal model loads" tokenize m.json /dev/null
	else fail_run 1 "tokenize: m.json: model: .*$re" "refused: $re" tokenize m.json /dev/null; fi
done
for c in '"normalizer":{"type":"Lowercase"}|normalizer "Lowercase" is not supported' \
	 '"normalizer":{"type":"BertNormalizer"}|normalizer "BertNormalizer" is not supported' \
	 '"pre_tokenizer":{"type":"Whitespace"}|pre_tokenizer "Whitespace" is not supported' \
	 '"pre_tokenizer":{"type":"Split","pattern":{"Regex":"(?<"},"behavior":"Isolated"}|regex "\(\?<"' \
	 '"pre_tokenizer":{"type":"Split","pattern":{"Regex":"\\\\bx"},"behavior":"Isolated"}|regex ".*": \\b is not supported' \
	 '"pre_tokenizer":{"type":"Split","pattern":{"Regex":"a"},"behavior":"Sideways"}|behavior "Sideways" is not known' \
	 '"decoder":{"type":"WordPiece"}|decoder "WordPiece" is not supported' \
	 '"decoder":{"type":"CTC"}|decoder "CTC" is not supported' \
	 '"truncation":{"max_length":8}|truncation is set: not supported'; do
	echo "{${c%%|*},\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]}}" > u.json
	fail_run 1 "tokenize: u.json: .*${c#*|}" "refused: ${c#*|}" tokenize u.json /dev/null
done
echo '{"post_processor":{"type":"Mystery"},"model":{"type":"BPE","vocab":{"a":0},"merges":[]}}' > p.json
ok_run "an unknown post-processor still encodes" tokenize p.json spm/../t1
fail_run 1 'tokenize: t1:1: p.json: post_processor is not supported' "an unknown post-processor refuses --special" tokenize -s p.json t1

printf '{"text":"a\377b"}\n' > inv
fail_run 1 'tokenize: inv:1: text is not valid UTF-8' "invalid UTF-8" tokenize spm inv
printf '{"text":"\355\240\200"}\n' > inv
fail_run 1 'tokenize: inv:1: text is not valid UTF-8' "an encoded surrogate" tokenize spm inv
printf '{"text":"a\\udc80"}\n' > sur
printf '{"text":"a\357\277\275"}\n' > fffd
ok_run "a lone surrogate escape" sh -c 'tokenize bl.json sur > a && tokenize bl.json fffd > b'
check "... reads as U+FFFD" '[ "$(sed "s/.*\"ids\"//" a)" = "$(sed "s/.*\"ids\"//" b)" ]'
echo '{"txt":"a"}' > nt
fail_run 1 'tokenize: nt:1: no "text" string' "no text" tokenize spm nt
echo '{"text":5}' > nt
fail_run 1 'tokenize: nt:1: no "text" string' "text not a string" tokenize spm nt
echo 'not json' > nt
fail_run 1 'tokenize: nt:1: ' "not a record" tokenize spm nt
echo '{"ids":[1,"a"]}' > bi
fail_run 1 'tokenize: bi:1: ids\[1\] is not a token id' "an id that is not a number" tokenize -d spm bi
echo '{"ids":[1,-3]}' > bi
fail_run 1 'tokenize: bi:1: ids\[1\] is not a token id' "a negative id" tokenize -d spm bi
echo '{"ids":[13]}' > bi
fail_run 1 'tokenize: bi:1: token id 13 is not in the vocabulary \(13 ids\)' "an id past the vocabulary" tokenize -d spm bi
echo '{"ids":"1 2"}' > bi
fail_run 1 'tokenize: bi:1: no "ids" array' "ids not an array" tokenize -d spm bi
fail_run 1 'tokenize: nofile: ' "a missing input file" tokenize spm nofile
if [ -w /dev/full ]; then
	fail_run 1 'tokenize: ' "a write error is an error" sh -c 'tokenize spm in > /dev/full'
fi
t_done
