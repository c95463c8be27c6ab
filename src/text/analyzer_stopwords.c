/* analyzer_stopwords.c - the English stop-word list of the BM25 analyzer.
 *
 * The list is Lucene's EnglishAnalyzer set (33 function words). A longer
 * list (Snowball's 174 words) was measured against it on the four classic
 * collections in docs/bm25.md; the short list is kept because BM25's IDF
 * already discounts common words, and a long list removes words that carry
 * meaning in technical text ("can", "will", "does", "after", "over").
 *
 * The table is sorted so lookup is a binary search; words are lower-case
 * ASCII and compared byte-wise against the analyzer's normalised form.
 */
#include "text/analyzer.h"

#include <string.h>

static const char *const stop_words[] = {
    "a",    "an",   "and",   "are",   "as",   "at",   "be",    "but",  "by",
    "for",  "if",   "in",    "into",  "is",   "it",   "no",    "not",  "of",
    "on",   "or",   "such",  "that",  "the",  "their", "then", "there",
    "these", "they", "this", "to",    "was",  "will", "with",
};

int rag_analyzer_is_stopword(const char *word, size_t n_bytes)
{
    size_t lo = 0, hi = sizeof stop_words / sizeof stop_words[0];

    if (n_bytes == 0 || n_bytes > 8)
        return 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *w = stop_words[mid];
        size_t w_bytes = strlen(w);
        int c = memcmp(word, w, n_bytes < w_bytes ? n_bytes : w_bytes);
        if (c == 0)
            c = n_bytes < w_bytes ? -1 : n_bytes > w_bytes ? 1 : 0;
        if (c == 0)
            return 1;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return 0;
}
