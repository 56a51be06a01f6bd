/* tok-corpus — a deterministic corpus of test strings for the tokenizer tests, as NDJSON
 * {"text": s} records: hand-picked edge cases, then N strings joined from random fragments of every
 * kind (whitespace runs, newlines, digits, contractions, punctuation, accented Latin in NFC and NFD
 * forms, other scripts, CJK, emoji with ZWJ sequences and skin tones, code, special-token
 * spellings, long words), and one in twenty of random code points from all over Unicode (controls,
 * combining marks, Hangul jamo and syllables, private use, noncharacters, unassigned, plane 16). No U+FEFF: tests/cli/tokenize-ref.sh tests it apart (the reference
 * treats it as a space, Hugging Face does not).
 *
 *   tok-corpus [N [SEED]]     (default N 2400, SEED 1) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "rec.h"
#include "rng.h"

static const char *const fixed[] = {
	"", " ", "  ", "\t", "\n", "\r\n", "\r", "\n\n\n", " \n ", "a", "A", "0", ".", "'",
	"Hello world", " Hello world", "Hello world ", "Hello  world", "Hello\tworld", "Hello\nworld",
	"Hello\r\nworld", "line one\n\nline two\n", "   leading", "trailing   ", "\t\tindented\n\t\tcode",
	"it's", "IT'S", "It'S", "we're", "WE'RE", "they've", "I'm", "I'M", "you'll", "YOU'LL", "he'd",
	"HE'D", "don't", "DON'T", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "''s", "'''", "rock'n'roll",
	"y'all", "o'clock", "'hello'", "\"quoted\"", "the cat's toy's", "X'S Y'T",
	"1", "12", "123", "1234", "12345", "123456789012345678901234567890", "3.14159265358979",
	"1,000,000", "-42", "+7", "1e10", "0x1F", "2024-12-04", "12:30:45", "v1.2.3", "$100.00", "50%",
	"\xe0\xa7\xa8\xe0\xa7\xa6\xe0\xa7\xa8\xe0\xa7\xaa",               /* Bengali digits */
	"\xe2\x91\xa0\xe2\x91\xa1\xe2\x91\xa2", "\xc2\xbd \xc2\xbe", "\xe2\x85\xab",   /* circled, fractions, Roman */
	"\xef\xbc\x91\xef\xbc\x92\xef\xbc\x93",                         /* fullwidth digits */
	"!!!", "...", "?!", "\xe2\x80\x94", "\xc2\xab\xc2\xbb", "\xc2\xbf\xc2\xa1", "(a)", "[x]", "{y}",
	"@#$%^&*", "a.b.c", "e.g.", "U.S.A.", "--", "->", "=>", "::", "<>", "</>", "<<", ">>", "<", ">",
	"caf\xc3\xa9", "cafe\xcc\x81", "na\xc3\xafve", "nai\xcc\x88ve", "\xc3\x85ngstr\xc3\xb6m",
	"A\xcc\x8angstro\xcc\x88m", "\xc5\x92uvre", "stra\xc3\x9f" "e", "STRASSE", "\xc4\xb0stanbul",
	"\xc7\x85", "\xe1\xba\x9e", "Cr\xc3\xa8me br\xc3\xbbl\xc3\xa9" "e", "Z\xc3\xbcrich", "\xc3\xb1" "and\xc3\xba",
	"n\xcc\x83", "e\xcc\x81\xcc\x81", "\xcc\x81" "a", "a\xcc\x81\xcc\xa3",
	"\xe4\xbd\xa0\xe5\xa5\xbd", "\xe4\xbd\xa0\xe5\xa5\xbd\xe4\xb8\x96\xe7\x95\x8c",
	"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe3\x83\x86\xe3\x82\xad\xe3\x82\xb9\xe3\x83\x88",
	"\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4", "\xe4\xb8\xad\xe6\x96\x87 English \xe6\xb7\xb7\xe5\x90\x88",
	"\xe3\x80\x82\xe3\x80\x81\xef\xbc\x8c", "\xf0\xa0\x80\x80\xf0\xa0\x80\x81",     /* CJK ext. B */
	"\xf0\x9f\x99\x82", "\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd", "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7\xe2\x80\x8d\xf0\x9f\x91\xa6",
	"\xf0\x9f\x8f\xb3\xef\xb8\x8f\xe2\x80\x8d\xf0\x9f\x8c\x88", "\xf0\x9f\x87\xab\xf0\x9f\x87\xb7",
	"1\xef\xb8\x8f\xe2\x83\xa3", "\xe2\x9d\xa4\xef\xb8\x8f", "hi\xf0\x9f\x99\x82there", "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80",
	"\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 \xd0\xbc\xd0\xb8\xd1\x80", "\xce\x93\xce\xb5\xce\xb9\xce\xac \xcf\x83\xce\xbf\xcf\x85",
	"\xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7", "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d", "\xe0\xa4\xa8\xe0\xa4\xae\xe0\xa4\xb8\xe0\xa5\x8d\xe0\xa4\xa4\xe0\xa5\x87",
	"\xe0\xb8\xaa\xe0\xb8\xa7\xe0\xb8\xb1\xe0\xb8\xaa\xe0\xb8\x94\xe0\xb8\xb5",
	"\xc2\xa0", "a\xc2\xa0" "b", "a\xe3\x80\x80" "b", "a\xe2\x80\x89" "b", "a\xe2\x80\x8b" "b",
	"a\xe2\x80\xa8" "b", "\x01\x02\x7f", "a\x0b" "b\x0c" "c", "tab\tsep\tvalues",
	"def f(x):\n    return x ** 2\n", "int main(void) { return 0; }", "for (i = 0; i < n; i++) a[i] += b[i];",
	"<div class=\"a\">text</div>", "{\"key\": [1, 2, {\"x\": null}]}", "https://example.com/a?b=c&d=e#f",
	"SELECT * FROM t WHERE x > 10;", "if __name__ == \"__main__\":\n\tmain()", "#include <stdio.h>",
	"x = [i**2 for i in range(10)]", "    \n    \n", "a  \n  b", "end.\n", "C:\\path\\to\\file",
	"<|endoftext|>", "<|begin_of_text|>", "<|end_of_text|>", "<s>", "</s>", "<unk>", "<|im_start|>",
	"<|im_end|>", "<think>", "</think>", "<tool_call>", "<|fim_prefix|>", "<|reserved_special_token_5|>",
	"Hello<|endoftext|>world", "Hello <|endoftext|> world", "<s>Hello</s>", "<s> Hello </s>", "<s><s>",
	"<<s>>", "<|endof", "<|endoftext|", "|endoftext|>", "<|im_start|>user\nhi<|im_end|>\n",
	"<think>\nreasoning\n</think>\n\nanswer", "a<unk>b", " <s>", "<s> ", "<|begin_of_text|><|begin_of_text|>",
	"\xe2\x96\x81", "\xe2\x96\x81\xe2\x96\x81" "a", "a\xe2\x96\x81" "b", "<0x41>", "<0xFF>",
	"\xc4\xa0", "\xc4\x8a", "\xc4\xa0\xc4\xa0" "a",
};

static const char *const frag[][28] = {
	/* words */
	{ "the", "The", "THE", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "model", "merge",
	  "checkpoint", "tokenizer", "recycle", "weights", "Llama", "Qwen", "Mistral", "data", "x", "I",
	  "internationalization", "supercalifragilistic" },
	/* whitespace */
	{ " ", "  ", "   ", "    ", "\t", "\t\t", "\n", "\n\n", "\r\n", "\r\n\r\n", " \n", "\n ", " \t ",
	  "\xc2\xa0", "\xe3\x80\x80", "\xe2\x80\x83", "        ", "\r", "\n\t", " \r\n ", "\x0b", "\x0c",
	  "\xe2\x80\xaf", "\xe2\x81\x9f", "\xc2\x85", "\xc2\x85\xc2\x85", " \xc2\x85", "\xc2\x85\n" },
	/* numbers */
	{ "0", "7", "42", "123", "2024", "31415", "999999", "1000000", "3.5", "0.001", "1,234", "-1",
	  "12345678901234", "007", "1e-9", "\xd9\xa3\xd9\xa4", "\xe0\xa5\xa7\xe0\xa5\xa8", "\xc2\xb2", "\xe2\x85\xa0",
	  "\xef\xbc\x95", "10%", "#1", "4th", "2nd" },
	/* contractions */
	{ "'s", "'S", "'t", "'T", "'re", "'RE", "'Re", "'ve", "'VE", "'m", "'M", "'ll", "'LL", "'lL", "'d",
	  "'D", "n't", "N'T", "'", "''", "'x", "'em", "'til", "o'" },
	/* punctuation */
	{ ".", ",", "!", "?", ";", ":", "...", "--", "-", "(", ")", "[", "]", "{", "}", "\"", "/", "\\",
	  "\xe2\x80\x94", "\xe2\x80\x9c", "\xe2\x80\x9d", "\xc2\xbf", "\xe2\x80\xa6", "@" },
	/* accented Latin, NFC and NFD */
	{ "caf\xc3\xa9", "cafe\xcc\x81", "\xc3\xa9t\xc3\xa9", "e\xcc\x81te\xcc\x81", "\xc3\xbc" "ber", "u\xcc\x88" "ber",
	  "\xc3\x85", "A\xcc\x8a", "\xc3\xb1", "n\xcc\x83", "fa\xc3\xa7" "ade", "\xc5\x93uf", "\xc3\x9f", "\xc3\x86sir",
	  "\xc4\x8d" "esk\xc3\xbd", "\xc5\x82\xc3\xb3" "d\xc5\xba", "\xc8\x99" "i", "\xc7\x84", "\xe1\xba\xbf",
	  "o\xcc\x82\xcc\x81", "\xc3\x96", "\xc3\xb8", "\xc3\xa0", "\xc4\xb1" },
	/* other scripts */
	{ "\xd0\x9c\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0", "\xce\xb1\xce\xb2\xce\xb3", "\xd8\xa7\xd9\x84\xd8\xb9\xd8\xb1\xd8\xa8\xd9\x8a\xd8\xa9",
	  "\xd7\xa2\xd7\x91\xd7\xa8\xd7\x99\xd7\xaa", "\xe0\xa4\xb9\xe0\xa4\xbf\xe0\xa4\xa8\xe0\xa5\x8d\xe0\xa4\xa6\xe0\xa5\x80",
	  "\xe0\xb9\x84\xe0\xb8\x97\xe0\xb8\xa2", "\xe1\x83\xa5\xe1\x83\x90\xe1\x83\xa0", "\xd5\xa1\xd5\xb5\xd5\xa2",
	  "\xe0\xae\xa4\xe0\xae\xae\xe0\xae\xbf\xe0\xae\xb4\xe0\xaf\x8d", "\xe1\x8a\xa0\xe1\x88\x9b", "\xd0\x81\xd0\xbb\xd0\xba\xd0\xb0",
	  "\xce\x86\xce\xb8\xce\xae\xce\xbd\xce\xb1", "\xe0\xa6\xac\xe0\xa6\xbe\xe0\xa6\x82", "\xda\xaf", "\xe1\x9e\x81\xe1\x9f\x92\xe1\x9e\x98\xe1\x9f\x82\xe1\x9e\x9a",
	  "\xe0\xbd\x96\xe0\xbd\xbc\xe0\xbd\x91", "\xe1\x80\x99\xe1\x80\xbc\xe1\x80\x94\xe1\x80\xba", "\xea\xb0\x80", "\xd1\x97",
	  "\xc3\xbe", "\xe1\xbc\x80", "\xd4\xb1", "\xe0\xb2\x95\xe0\xb2\xa8\xe0\xb3\x8d\xe0\xb2\xa8", "\xe0\xb6\xb8" },
	/* CJK */
	{ "\xe4\xbd\xa0", "\xe5\xa5\xbd", "\xe4\xb8\x96\xe7\x95\x8c", "\xe4\xb8\xad\xe5\x9b\xbd", "\xe6\x97\xa5\xe6\x9c\xac", "\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf",
	  "\xe3\x82\xab\xe3\x82\xbf\xe3\x82\xab\xe3\x83\x8a", "\xed\x95\x9c\xea\xb8\x80", "\xec\x95\x88\xeb\x85\x95", "\xe3\x80\x82", "\xef\xbc\x8c", "\xe3\x80\x8c", "\xe3\x80\x8d",
	  "\xe6\xbc\xa2\xe5\xad\x97", "\xe8\xaf\xad\xe8\xa8\x80\xe6\xa8\xa1\xe5\x9e\x8b", "\xe6\x9c\xba\xe5\x99\xa8\xe5\xad\xa6\xe4\xb9\xa0", "\xf0\xa0\x80\x8b", "\xe9\xbe\x98",
	  "\xe3\x83\xbc", "\xef\xbd\xb1", "\xe3\x8d\xbf", "\xe2\xbc\x80", "\xe3\x90\x80", "\xe4\xb8\x80\xe4\xba\x8c\xe4\xb8\x89" },
	/* emoji */
	{ "\xf0\x9f\x99\x82", "\xf0\x9f\x98\x82", "\xf0\x9f\x91\x8d", "\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbb", "\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbf",
	  "\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x92\xbb", "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7",
	  "\xf0\x9f\x8f\xb3\xef\xb8\x8f\xe2\x80\x8d\xe2\x9a\xa7\xef\xb8\x8f", "\xf0\x9f\x87\xaf\xf0\x9f\x87\xb5", "\xe2\x9c\x85", "\xe2\xad\x90",
	  "\xe2\x9d\xa4\xef\xb8\x8f", "#\xef\xb8\x8f\xe2\x83\xa3", "\xf0\x9f\xa4\x96", "\xf0\x9f\x9a\x80", "\xf0\x9f\x8e\x89", "\xf0\x9f\xa7\x91\xf0\x9f\x8f\xbd\xe2\x80\x8d\xf0\x9f\x94\xac",
	  "\xf0\x9f\x92\xa9", "\xf0\x9f\x90\x8d", "\xe2\x98\x95", "\xf0\x9f\x8c\x8d", "\xf0\x9f\xab\xa0", "\xf0\x9f\x91\x81\xef\xb8\x8f\xe2\x80\x8d\xf0\x9f\x97\xa8\xef\xb8\x8f", "\xe2\x84\xa2" },
	/* code */
	{ "def", "return", "x += 1;", "if (a && b)", "}", "{", "=>", "->", "::", "#include", "std::vector<int>",
	  "print(\"hi\")", "    ", "a[i]", "i++", "0x7f", "/* c */", "// note", "$x", "@decorator", "`cmd`",
	  "&&", "||", "!=" },
	/* special-token spellings */
	{ "<|endoftext|>", "<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>", "<s>", "</s>", "<unk>",
	  "<|im_start|>", "<|im_end|>", "<think>", "</think>", "<tool_call>", "<|fim_middle|>", "<|",
	  "|>", "<|im_", "</", "<s", "s>", "<|start_header_id|>", "<|reserved_special_token_200|>",
	  "<|box_start|>", "<|vision_pad|>", "<|file_sep|>" },
};
#define NKIND (sizeof frag / sizeof frag[0])

static void emit(const char *s, size_t len)
{
	json_object *o = json_object_new_object();
	rec_set(o, "text", json_object_new_string_len(s, (int)len));
	if (rec_write(stdout, o) < 0)
		die_err();
	json_object_put(o);
}

int main(int argc, char **argv)
{
	prog_init(argv[0]);
	long n = argc > 1 ? arg_int("N", argv[1], 0, 1000000) : 2400;
	long seed = argc > 2 ? arg_int("SEED", argv[2], 0, 1L << 40) : 1;
	rng r;
	rng_seed(&r, (uint64_t)seed);
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		emit(fixed[i], strlen(fixed[i]));
	char *buf = xmalloc(1 << 16);
	for (long i = 0; i < n; i++) {
		size_t len = 0;
		uint64_t shape = rng_below(&r, 20);
		if (shape == 0) {
			/* a very long word, or a long run of one character */
			static const char *const unit[] = { "a", "ab", "xyz", "9", " ", "\n", "!", "\xc3\xa9",
			                                    "\xe4\xbd\xa0", "\xf0\x9f\x99\x82", "\t", "ha" };
			const char *u = unit[rng_below(&r, sizeof unit / sizeof unit[0])];
			size_t reps = 50 + rng_below(&r, 700);
			for (size_t k = 0; k < reps && len + 8 < 60000; k++)
				len += (size_t)sprintf(buf + len, "%s", u);
		} else if (shape == 2) {
			/* random code points from blocks all over Unicode, no surrogates, no U+FEFF */
			static const unsigned blk[][2] = {
				{ 0x0, 0x7f }, { 0x80, 0x2ff }, { 0x300, 0x36f }, { 0x370, 0x52f }, { 0x590, 0x6ff },
				{ 0x900, 0x97f }, { 0xe00, 0xe7f }, { 0x1100, 0x11ff }, { 0x1e00, 0x1fff },
				{ 0x2000, 0x206f }, { 0x2070, 0x2bff }, { 0x3000, 0x318f }, { 0x4e00, 0x4eff },
				{ 0xac00, 0xd7a3 }, { 0xe000, 0xe0ff }, { 0xf900, 0xfdff }, { 0xfe00, 0xfefe },
				{ 0xff00, 0xffff }, { 0x10000, 0x1007f }, { 0x1d400, 0x1d7ff }, { 0x1f300, 0x1faff },
				{ 0x20000, 0x200ff }, { 0xe0000, 0xe007f }, { 0x10fff0, 0x10ffff },
			};
			size_t l = 1 + rng_below(&r, 30);
			for (size_t k = 0; k < l; k++) {
				const unsigned *b = blk[rng_below(&r, sizeof blk / sizeof blk[0])];
				unsigned c = b[0] + (unsigned)rng_below(&r, b[1] - b[0] + 1);
				if (c == 0)
					continue;
				len += (size_t)(c < 0x80 ? sprintf(buf + len, "%c", (int)c) :
				       c < 0x800 ? sprintf(buf + len, "%c%c", 0xc0 | c >> 6, 0x80 | (c & 0x3f)) :
				       c < 0x10000 ? sprintf(buf + len, "%c%c%c", 0xe0 | c >> 12, 0x80 | (c >> 6 & 0x3f), 0x80 | (c & 0x3f)) :
				       sprintf(buf + len, "%c%c%c%c", 0xf0 | c >> 18, 0x80 | (c >> 12 & 0x3f), 0x80 | (c >> 6 & 0x3f),
				               0x80 | (c & 0x3f)));
			}
		} else if (shape == 1) {
			/* random letters: a long made-up word */
			size_t l = 20 + rng_below(&r, 400);
			for (size_t k = 0; k < l; k++)
				buf[len++] = (char)('a' + rng_below(&r, 26) - (rng_below(&r, 8) == 0 ? 32 : 0));
		} else {
			size_t nf = 1 + rng_below(&r, 12);
			for (size_t k = 0; k < nf; k++) {
				size_t kind = rng_below(&r, NKIND);
				const char *f = frag[kind][rng_below(&r, 28)];
				if (!f)
					continue;
				/* words mostly separated by a space */
				if (k > 0 && rng_below(&r, 3) == 0)
					buf[len++] = ' ';
				len += (size_t)sprintf(buf + len, "%s", f);
			}
		}
		emit(buf, len);
	}
	free(buf);
	return 0;
}
