set terminal pngcairo size 1000,500 font 'sans,10'
set output 'docs/performance/broker_failure.png'
set title 'Click count through broker failures (20000 records/s offered; red: broker down, green: back up)'
set xlabel 'seconds'
set ylabel 'records processed per second (100 ms bins)'
set grid
set yrange [0:*]
set arrow from 3.015828, graph 0 to 3.015828, graph 1 nohead lc rgb '#b3261e' dt 2
set label 'broker 2 down' at 3.115828, graph 0.97 rotate by -90 font 'sans,8'
set arrow from 8.000115, graph 0 to 8.000115, graph 1 nohead lc rgb '#16794a' dt 2
set label 'broker 2 up' at 8.100115, graph 0.97 rotate by -90 font 'sans,8'
set arrow from 12.003089, graph 0 to 12.003089, graph 1 nohead lc rgb '#b3261e' dt 2
set label 'broker 1 down (coordinator)' at 12.103089, graph 0.97 rotate by -90 font 'sans,8'
set arrow from 15.000196, graph 0 to 15.000196, graph 1 nohead lc rgb '#16794a' dt 2
set label 'broker 1 up' at 15.100196, graph 0.97 rotate by -90 font 'sans,8'
set arrow from 17.027511, graph 0 to 17.027511, graph 1 nohead lc rgb '#b3261e' dt 2
set label 'broker 2 down (coordinator)' at 17.127511, graph 0.97 rotate by -90 font 'sans,8'
set arrow from 20.000174, graph 0 to 20.000174, graph 1 nohead lc rgb '#16794a' dt 2
set label 'broker 2 up' at 20.100174, graph 0.97 rotate by -90 font 'sans,8'
set arrow from 22.003242, graph 0 to 22.003242, graph 1 nohead lc rgb '#b3261e' dt 2
set label 'broker 3 down (coordinator)' at 22.103242, graph 0.97 rotate by -90 font 'sans,8'
set arrow from 25.000114, graph 0 to 25.000114, graph 1 nohead lc rgb '#16794a' dt 2
set label 'broker 3 up' at 25.100114, graph 0.97 rotate by -90 font 'sans,8'
plot 'docs/performance/broker_failure.dat' using 1:2 with lines lw 1.5 notitle
