import sys

from wordsim.local_milvus.cli import main

sys.exit(main())
