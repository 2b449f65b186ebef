"""Loading a word list into the collection: ``wordlist`` reads the source (jieba's
``dict.txt`` or one word per line), ``pipeline`` encodes and writes it in resumable chunks."""
