import os, time, threading
p='/tmp/fsx3.dat'
fd=os.open(p, os.O_RDWR|os.O_CREAT|os.O_TRUNC)
size=4096*4000
os.write(fd, b'\0'*size); os.fsync(fd)
def worker(k, n, out, base):
    lat=[]
    off=base
    for i in range(n):
        os.pwrite(fd, b'x'*16384, off); off=(off+16384*4)%size
        t=time.perf_counter(); os.fsync(fd); lat.append(time.perf_counter()-t)
    out.append(lat)
for threads in [1,2,3,1,2,3]:
    out=[]; n=1200
    ts=[threading.Thread(target=worker,args=(i,n,out,i*16384)) for i in range(threads)]
    t=time.perf_counter(); [x.start() for x in ts]; [x.join() for x in ts]; el=time.perf_counter()-t
    lat=sorted(sum(out,[])); 
    print(threads, 'threads: fsyncs/s %.0f  median lat %.0f us' % (threads*n/el, lat[len(lat)//2]*1e6))
