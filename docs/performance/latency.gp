set terminal pngcairo size 1000,500 font 'sans,10'
set output 'docs/performance/latency.png'
set title 'End-to-end latency (produce -> counted, changelog acknowledged)'
set ylabel 'ms'
set style data histograms
set style fill solid 0.8
set boxwidth 0.9
set yrange [0:*]
set grid ytics
set xlabel 'load (records/s, or of the sustained maximum)'
plot 'docs/performance/latency.dat' using 2:xtic(1) title 'Partita p50', '' using 3 title 'Partita p99', '' using 4 title 'baseline p50', '' using 5 title 'baseline p99'
