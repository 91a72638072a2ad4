set terminal pngcairo size 1000,500 font 'sans,10'
set output 'docs/performance/scaling.png'
set title 'Partitions in one process'
set logscale x 2
set xlabel 'partitions'
set ylabel 'records/s'
set y2label 'KiB per idle partition'
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
set grid
plot 'docs/performance/scaling.dat' using 1:4 with linespoints title 'records/s (produced while running)', '' using 1:5 with linespoints title 'records/s, a producer alone', '' using 1:3 axes x1y2 with linespoints title 'KiB per idle partition'
