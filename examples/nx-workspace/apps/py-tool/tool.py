#!/usr/bin/env python3
"""Counts words in its arguments (or a built-in sample) with sqlite3, prints JSON."""
import json
import sqlite3
import sys

words = sys.argv[1:] if len(sys.argv) > 1 and sys.argv[1] != '--selftest' else 'the quick brown fox jumps over the lazy dog the end'.split()
db = sqlite3.connect(':memory:')
db.execute('create table w (word text)')
db.executemany('insert into w values (?)', [(w,) for w in words])
top = db.execute('select word, count(*) c from w group by word order by c desc, word limit 3').fetchall()
print(json.dumps({'words': len(words), 'top': top}))
