set terminal pngcairo size 1000,500 font 'sans,10'
set output 'docs/performance/throughput.png'
set title 'Click count throughput (median of rounds)'
set ylabel 'records/s'
set style data histograms
set style fill solid 0.8
set boxwidth 0.9
set yrange [0:*]
set grid ytics
plot 'docs/performance/throughput.dat' using 2:xtic(1) title 'Partita', '' using 3 title 'hand-written baseline'
