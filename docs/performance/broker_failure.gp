set terminal pngcairo size 1000,500 font 'sans,10'
set output 'docs/performance/broker_failure.png'
set title 'Click count through broker failures (20000 records/s offered; red: broker down, green: back up)'
set xlabel 'seconds'
set ylabel 'records processed per second (100 ms bins)'
set grid
set yrange [0:*]
set arrow from 3.006488, graph 0 to 3.006488, graph 1 nohead lc rgb '#b3261e' dt 2
set label 'broker 2 crashed' at 3.106488, graph 0.97 rotate by -90 font 'sans,8'
set arrow from 8.001375, graph 0 to 8.001375, graph 1 nohead lc rgb '#16794a' dt 2
set label 'broker 2 up' at 8.101375, graph 0.97 rotate by -90 font 'sans,8'
set arrow from 12.182949, graph 0 to 12.182949, graph 1 nohead lc rgb '#b3261e' dt 2
set label 'broker 1 stopped (coordinator)' at 12.282949, graph 0.97 rotate by -90 font 'sans,8'
set arrow from 15.000586, graph 0 to 15.000586, graph 1 nohead lc rgb '#16794a' dt 2
set label 'broker 1 up' at 15.100586, graph 0.97 rotate by -90 font 'sans,8'
set arrow from 17.183731, graph 0 to 17.183731, graph 1 nohead lc rgb '#b3261e' dt 2
set label 'broker 2 stopped (coordinator)' at 17.283731, graph 0.97 rotate by -90 font 'sans,8'
set arrow from 20.002109, graph 0 to 20.002109, graph 1 nohead lc rgb '#16794a' dt 2
set label 'broker 2 up' at 20.102109, graph 0.97 rotate by -90 font 'sans,8'
set arrow from 23.518224, graph 0 to 23.518224, graph 1 nohead lc rgb '#b3261e' dt 2
set label 'broker 3 stopped' at 23.618224, graph 0.97 rotate by -90 font 'sans,8'
set arrow from 25.003385, graph 0 to 25.003385, graph 1 nohead lc rgb '#16794a' dt 2
set label 'broker 3 up' at 25.103385, graph 0.97 rotate by -90 font 'sans,8'
plot 'docs/performance/broker_failure.dat' using 1:2 with lines lw 1.5 notitle
