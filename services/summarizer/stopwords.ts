// A small English stopword list for extractive summarisation: function words that
// carry no topic. Kept short on purpose (about 150 words, close to the NLTK list
// without its contraction fragments) so domain words such as "new" or "free" still count.

/** Lower-case English stopwords that are never scored as terms. */
export const englishStopwords: ReadonlySet<string> = new Set([
  "a", "about", "above", "after", "again", "against", "all", "also", "am", "an",
  "and", "any", "are", "as", "at", "be", "because", "been", "before", "being",
  "below", "between", "both", "but", "by", "can", "could", "did", "do", "does",
  "doing", "down", "during", "each", "even", "few", "for", "from", "further", "had",
  "has", "have", "having", "he", "her", "here", "hers", "herself", "him", "himself",
  "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself",
  "just", "may", "me", "might", "more", "most", "must", "my", "myself", "no",
  "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other",
  "our", "ours", "ourselves", "out", "over", "own", "same", "shall", "she", "should",
  "so", "some", "such", "than", "that", "the", "their", "theirs", "them", "themselves",
  "then", "there", "these", "they", "this", "those", "through", "to", "too", "under",
  "until", "up", "us", "very", "was", "we", "were", "what", "when", "where",
  "which", "while", "who", "whom", "why", "will", "with", "would", "yet", "you",
  "your", "yours", "yourself", "yourselves", "it's", "don't", "isn't", "aren't", "won't", "can't",
  "let", "get", "got", "one", "many", "much", "via", "per", "e.g", "i.e",
]);
