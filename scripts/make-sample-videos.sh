#!/usr/bin/env bash
# Regenerates the sample lesson clips committed under public/videos/ for the
# 审验学习 (licence-review study) demo course catalogue (app/demo/courses.csv).
#
# The app ships these clips itself; nothing is downloaded at run time. This
# script only needs to be run again if the clips are to be changed.
#
# Needs: ffmpeg (with libx264, libvpx, libfreetype, libfontconfig) and a CJK
# font, e.g. on Debian:  apt-get install -y ffmpeg fonts-noto-cjk
#
# Output, for N in 1..3: public/videos/lesson-0N.mp4 (H.264 main, yuv420p,
# +faststart) and public/videos/lesson-0N.webm (VP9); 480x270, 15 fps,
# exactly 10 s, no audio track.
set -euo pipefail

cd "$(dirname "$0")/.."
OUT=public/videos
mkdir -p "$OUT"

command -v ffmpeg >/dev/null || { echo "ffmpeg not found (apt-get install ffmpeg)" >&2; exit 1; }

# Pick a Simplified-Chinese font through fontconfig. drawtext's font= option
# is a fontconfig family name (it resolves the face index inside the .ttc
# collections correctly); a fontfile= value that is not a file is read by
# drawtext as a fontconfig pattern, which is how the bold title face is chosen.
FAMILY='Noto Sans CJK SC'
if ! fc-list ':lang=zh' family | grep -q "$FAMILY"; then
  FAMILY="$(fc-list ':lang=zh' family | head -n1 | cut -d, -f1)"
  if [ -z "$FAMILY" ]; then
    echo "no CJK font found (apt-get install fonts-noto-cjk)" >&2
    exit 1
  fi
  echo "note: Noto Sans CJK SC not found, using '$FAMILY'" >&2
fi

# Escape a string for use inside a single-quoted filter option value.
esc() { printf '%s' "$1" | sed -e "s/\\\\/\\\\\\\\/g" -e "s/'/\\\\'/g" -e 's/:/\\:/g' -e 's/%/\\%/g'; }

W=480 H=270 FPS=15 DUR=10
SUBTITLE='大连智慧交通 · 审验学习 演示课程'

make_clip() {
  local n="$1" title="$2" c0="$3" c1="$4" accent="$5"
  local base="$OUT/lesson-0$n"
  local fam
  fam="$(esc "$FAMILY")"

  # Background: a still two-colour diagonal gradient (rotation speed at its
  # minimum, so it does not visibly move), a thin rule under the title, the
  # title, the subtitle, a running timer "00:SS / 00:10" and a progress bar
  # that slides in from the left as the clip plays.
  local fc
  fc="gradients=s=${W}x${H}:r=${FPS}:d=${DUR}:c0=${c0}:c1=${c1}:x0=0:y0=0:x1=${W}:y1=${H}:speed=0.00001:seed=1,format=yuv420p[bg];"
  fc+="color=c=${accent}:s=${W}x6:r=${FPS}:d=${DUR}[bar];"
  fc+="[bg]drawbox=x=($W-300)/2:y=150:w=300:h=2:color=white@0.5:t=fill,"
  fc+="drawbox=x=0:y=$((H-6)):w=${W}:h=6:color=black@0.35:t=fill,"
  fc+="drawtext=font='${fam}':fontfile='\\:style=Bold':text='$(esc "$title")':fontsize=30:fontcolor=white:x=(w-text_w)/2:y=98:shadowcolor=black@0.45:shadowx=2:shadowy=2,"
  fc+="drawtext=font='${fam}':text='$(esc "$SUBTITLE")':fontsize=16:fontcolor=white@0.88:x=(w-text_w)/2:y=166,"
  fc+="drawtext=font='${fam}':text='▶ 00\\:%{eif\\:trunc(t)\\:d\\:2} / 00\\:${DUR}':fontsize=18:fontcolor=white:x=w-text_w-14:y=h-36:box=1:boxcolor=black@0.3:boxborderw=5[fg];"
  fc+="[fg][bar]overlay=x='-W+W*(t+1/${FPS})/${DUR}':y=H-6:eval=frame:shortest=1,format=yuv420p[v]"

  ffmpeg -hide_banner -loglevel error -y \
    -filter_complex "$fc" -map '[v]' -an -t "$DUR" -r "$FPS" \
    -c:v libx264 -profile:v main -level 3.0 -pix_fmt yuv420p -preset slow \
    -crf 26 -maxrate 250k -bufsize 500k -g 30 -threads 1 \
    -movflags +faststart -map_metadata -1 -fflags +bitexact -flags:v +bitexact \
    "$base.mp4"

  ffmpeg -hide_banner -loglevel error -y \
    -filter_complex "$fc" -map '[v]' -an -t "$DUR" -r "$FPS" \
    -c:v libvpx-vp9 -pix_fmt yuv420p -b:v 200k -crf 36 -deadline good -cpu-used 2 \
    -row-mt 0 -threads 1 -g 30 \
    -map_metadata -1 -fflags +bitexact -flags:v +bitexact \
    "$base.webm"

  echo "wrote $base.mp4 ($(stat -c %s "$base.mp4") bytes), $base.webm ($(stat -c %s "$base.webm") bytes)"
}

make_clip 1 '第一课 安全驾驶与文明行车' '0x1d3d6b' '0x2f7f86' '0x7fd6c2'
make_clip 2 '第二课 高速公路与恶劣天气' '0x22305a' '0x4a5f8c' '0x9fb8ea'
make_clip 3 '第三课 事故预防与应急处置' '0x1f4a45' '0x3b5d6e' '0xf2c14e'
