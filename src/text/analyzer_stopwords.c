/* analyzer_stopwords.c - the English stop-word list of the BM25 analyzer.
 *
 * The list is Snowball's English stop list (the one shipped with the
 * Snowball stemmers, 174 words with the contractions). Lucene's
 * EnglishAnalyzer set (33 words) was measured against it on the four
 * classic collections (docs/bm25.md): the Snowball list scored higher on
 * all four (nDCG@10 +0.001 to +0.003), because query boilerplate ("what",
 * "which", "about", "i'm") then stops matching.
 *
 * The table is sorted (ASCII byte order) so lookup is a binary search;
 * words are lower-case with ASCII apostrophes, compared byte-wise against
 * the analyzer's normalised, not yet stemmed, form.
 */
#include "text/analyzer.h"

#include <string.h>

static const char *const stop_words[] = {
    "a", "about", "above", "after", "again", "against", "all", "am", "an",
    "and", "any", "are", "aren't", "as", "at", "be", "because", "been",
    "before", "being", "below", "between", "both", "but", "by", "can't",
    "cannot", "could", "couldn't", "did", "didn't", "do", "does", "doesn't",
    "doing", "don't", "down", "during", "each", "few", "for", "from",
    "further", "had", "hadn't", "has", "hasn't", "have", "haven't", "having",
    "he", "he'd", "he'll", "he's", "her", "here", "here's", "hers", "herself",
    "him", "himself", "his", "how", "how's", "i", "i'd", "i'll", "i'm",
    "i've", "if", "in", "into", "is", "isn't", "it", "it's", "its", "itself",
    "let's", "me", "more", "most", "mustn't", "my", "myself", "no", "nor",
    "not", "of", "off", "on", "once", "only", "or", "other", "ought", "our",
    "ours", "ourselves", "out", "over", "own", "same", "shan't", "she",
    "she'd", "she'll", "she's", "should", "shouldn't", "so", "some", "such",
    "than", "that", "that's", "the", "their", "theirs", "them", "themselves",
    "then", "there", "there's", "these", "they", "they'd", "they'll",
    "they're", "they've", "this", "those", "through", "to", "too", "under",
    "until", "up", "very", "was", "wasn't", "we", "we'd", "we'll", "we're",
    "we've", "were", "weren't", "what", "what's", "when", "when's", "where",
    "where's", "which", "while", "who", "who's", "whom", "why", "why's",
    "with", "won't", "would", "wouldn't", "you", "you'd", "you'll", "you're",
    "you've", "your", "yours", "yourself", "yourselves",
};

int rag_analyzer_is_stopword(const char *word, size_t n_bytes)
{
    size_t lo = 0, hi = sizeof stop_words / sizeof stop_words[0];

    if (n_bytes == 0 || n_bytes > 10)
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
