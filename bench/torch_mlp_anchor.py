#!/usr/bin/python3
"""Anchor: PyTorch CPU training throughput and accuracy for the 784-32-10 MLP
on an IDX dataset dir. Usage: torch_mlp_anchor.py DATADIR [epochs] [batch] [threads] [seed]

Origin: a copy of the project brief's ../shared/tools/torch_mlp_anchor.py (outside this
repository), kept here so bench/compare_torch.sh runs from a fresh checkout. The training
logic and the first output line are unchanged; added: an optional seed (default 0, the
original's), and the thread's CPU time over the same timed section (samples/cpu_s, because
the benchmark machine is shared), printed on a second line. Run it with Debian's python3-torch: /usr/bin/python3."""
import sys, gzip, struct, time, numpy as np, torch, torch.nn as nn
def idx(path):
    with gzip.open(path,'rb') as f: b=f.read()
    magic=struct.unpack('>I',b[:4])[0]; nd=magic&0xff
    dims=struct.unpack('>'+'I'*nd,b[4:4+4*nd])
    return np.frombuffer(b,dtype=np.uint8,offset=4+4*nd).reshape(dims)
d=sys.argv[1]; E=int(sys.argv[2]) if len(sys.argv)>2 else 1; B=int(sys.argv[3]) if len(sys.argv)>3 else 32
torch.set_num_threads(int(sys.argv[4]) if len(sys.argv)>4 else 1)
Xtr=torch.tensor(idx(d+'/train-images-idx3-ubyte.gz').reshape(-1,784)/255.,dtype=torch.float32)
Ytr=torch.tensor(idx(d+'/train-labels-idx1-ubyte.gz').astype(np.int64))
Xte=torch.tensor(idx(d+'/t10k-images-idx3-ubyte.gz').reshape(-1,784)/255.,dtype=torch.float32)
Yte=torch.tensor(idx(d+'/t10k-labels-idx1-ubyte.gz').astype(np.int64))
torch.manual_seed(int(sys.argv[5]) if len(sys.argv)>5 else 0)
m=nn.Sequential(nn.Linear(784,32),nn.ReLU(),nn.Linear(32,10))
opt=torch.optim.SGD(m.parameters(),lr=0.05,momentum=0.9); lf=nn.CrossEntropyLoss()
n=len(Ytr); t=time.perf_counter(); c=time.thread_time(); seen=0
for e in range(E):
    p=torch.randperm(n)
    for i in range(0,n,B):
        idxs=p[i:i+B]; opt.zero_grad(); l=lf(m(Xtr[idxs]),Ytr[idxs]); l.backward(); opt.step(); seen+=len(idxs)
dt=time.perf_counter()-t; dc=time.thread_time()-c
with torch.no_grad(): acc=(m(Xte).argmax(1)==Yte).float().mean().item()
print(f"torch {torch.__version__} threads={torch.get_num_threads()} epochs={E} batch={B} samples/s={seen/dt:.0f} test_acc={acc*100:.2f}%")
print(f"samples/cpu_s={seen/dc:.0f}")
