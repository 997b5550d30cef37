#!/bin/sh
# Writes an assembly file that embeds FILES into the binary, with a table
# `lab_embedded` of {name, data, size} ending in a zeroed entry. Each blob is
# followed by a NUL byte so text files can be used as C strings.
set -eu
out=$1; shift
tmp=$out.tmp
{
  echo '    .section .note.GNU-stack,"",@progbits'
  echo '    .section .rodata'
  i=0
  for f in "$@"; do
    echo "lab_blob_$i: .incbin \"$f\""
    echo "lab_blob_${i}_end: .byte 0"
    echo "lab_name_$i: .asciz \"$f\""
    i=$((i + 1))
  done
  echo '    .section .data.rel.ro'
  echo '    .balign 8'
  echo '    .globl lab_embedded'
  echo 'lab_embedded:'
  i=0
  for f in "$@"; do
    echo "    .quad lab_name_$i, lab_blob_$i, lab_blob_${i}_end - lab_blob_$i"
    i=$((i + 1))
  done
  echo '    .quad 0, 0, 0'
} > "$tmp"
mv "$tmp" "$out"
