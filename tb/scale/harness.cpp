// Bare Verilator harness of the scale top (tb/scale/top.py): no Python in the loop.
//
//   harness <program.txt> <result.json>
//
// program.txt (written by tools/scale.py from sim/scale.py's plan), one command a line:
//   S <settle cycles after reset> <cycle cap>
//   K <skew 0> <skew 1> ...                  optional: device i's start pulse comes <skew i>
//                                            cycles after the first possible one (default 0:
//                                            every device in the same cycle)
//   W <dev> <u|p> <byte offset> <value>      AXI4-Lite write before the start (u: unit CSR,
//                                            p: producer), replayed in order; a write with no
//                                            response within 100,000 cycles ends the set-up:
//                                            no run, "setup_blocked": true in the JSON
//   R <dev> <u|p> <byte offset> <name>       read after the run, reported in the JSON
// The harness resets the design, replays the writes (host_sel = 1), hands the unit CSRs to the
// producers (host_sel = 0), pulses start, clocks until `done` (or the cap), takes the CSRs back
// and reads the listed registers. The cycles/s figure covers the run loop only; run_cpu_seconds
// is the process CPU time of the same loop (the figure one core gives on a shared machine).
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "Vscale_top.h"
#include "verilated.h"

struct Axil {
    SData *awaddr; CData *awprot, *awvalid, *awready;
    IData *wdata; CData *wstrb, *wvalid, *wready;
    CData *bresp, *bvalid, *bready;
    SData *araddr; CData *arprot, *arvalid, *arready;
    IData *rdata; CData *rresp, *rvalid, *rready;
};

#include "scale_ports.h"   // generated: NDEV, bind(top, u[], p[])

static Vscale_top *top;
static unsigned long long cycles = 0;

static inline void tick() {
    top->clk = 0; top->eval();
    top->clk = 1; top->eval();
    ++cycles;
}

static int axil_write(Axil &a, unsigned addr, unsigned data) {
    *a.awaddr = addr; *a.awprot = 0; *a.wdata = data; *a.wstrb = 0xF;
    *a.awvalid = 1; *a.wvalid = 1; *a.bready = 0;
    bool aw = false, w = false;
    for (int guard = 0; !(aw && w); ++guard) {
        top->clk = 0; top->eval();
        bool haw = *a.awvalid && *a.awready, hw = *a.wvalid && *a.wready;
        top->clk = 1; top->eval(); ++cycles;
        if (haw) { aw = true; *a.awvalid = 0; }
        if (hw) { w = true; *a.wvalid = 0; }
        if (guard > 100000) return -1;
    }
    *a.bready = 1;
    for (int guard = 0;; ++guard) {
        top->clk = 0; top->eval();
        bool b = *a.bvalid; int resp = *a.bresp;
        top->clk = 1; top->eval(); ++cycles;
        if (b) { *a.bready = 0; return resp; }
        if (guard > 100000) return -1;
    }
}

static long long axil_read(Axil &a, unsigned addr) {
    *a.araddr = addr; *a.arprot = 0; *a.arvalid = 1; *a.rready = 0;
    for (int guard = 0;; ++guard) {
        top->clk = 0; top->eval();
        bool h = *a.arvalid && *a.arready;
        top->clk = 1; top->eval(); ++cycles;
        if (h) { *a.arvalid = 0; break; }
        if (guard > 100000) return -1;
    }
    *a.rready = 1;
    for (int guard = 0;; ++guard) {
        top->clk = 0; top->eval();
        bool v = *a.rvalid; unsigned d = *a.rdata; int resp = *a.rresp;
        top->clk = 1; top->eval(); ++cycles;
        if (v) { *a.rready = 0; return resp ? -2 : (long long)d; }
        if (guard > 100000) return -1;
    }
}

int main(int argc, char **argv) {
    if (argc < 3) { std::fprintf(stderr, "usage: %s program.txt result.json\n", argv[0]); return 2; }
    Verilated::commandArgs(1, argv);
    top = new Vscale_top;
    Axil u[NDEV], p[NDEV];
    bind(top, u, p);
    std::ifstream in(argv[1]);
    if (!in) { std::fprintf(stderr, "cannot read %s\n", argv[1]); return 2; }
    struct Rd { int dev; char tgt; unsigned off; std::string name; };
    std::vector<Rd> reads;
    std::vector<std::string> errors;
    unsigned long long settle = 0, cap = 0;
    std::string line;
    std::vector<unsigned> skew(NDEV, 0);
    auto t_all = std::chrono::steady_clock::now();

    top->reset = 1; top->start = 0; top->host_sel = 1;
    for (int i = 0; i < 8; ++i) tick();
    top->reset = 0;
    bool settled = false, blocked = false;
    unsigned long long writes = 0;
    while (std::getline(in, line)) {
        std::istringstream ss(line);
        char op; ss >> op;
        if (op == 'S') { ss >> settle >> cap; continue; }
        if (op == 'K') { for (int g = 0; g < NDEV; ++g) ss >> skew[g]; continue; }
        if (!settled) { for (unsigned long long i = 0; i < settle; ++i) tick(); settled = true; }
        int dev; char tgt; unsigned off; ss >> dev >> tgt >> off;
        Axil &a = tgt == 'u' ? u[dev] : p[dev];
        if (op == 'W') {
            unsigned long long v; ss >> v;
            int r = axil_write(a, off, (unsigned)v);
            ++writes;
            if (r != 0) {
                char buf[96];
                std::snprintf(buf, sizeof buf, "write dev %d %c 0x%03x = 0x%08llx: resp %d",
                              dev, tgt, off, v, r);
                if (errors.size() < 20) errors.push_back(buf);
                // no response (e.g. an ARM held by a full tracker): stop here, do not run
                if (r < 0) { blocked = true; break; }
            }
        } else if (op == 'R') {
            std::string name; ss >> name;
            reads.push_back({dev, tgt, off, name});
        }
    }
    unsigned long long setup_cycles = cycles;
    top->host_sel = 0;
    unsigned long long run0 = cycles;
    if (!blocked) {      // one pulse per device, at its skew; done cannot rise before the last
        unsigned last = 0;
        for (int g = 0; g < NDEV; ++g) last = skew[g] > last ? skew[g] : last;
        for (unsigned c = 0; c <= last; ++c) {
            unsigned mask = 0;
            for (int g = 0; g < NDEV; ++g) mask |= (skew[g] == c ? 1u : 0u) << g;
            top->start = mask;
            tick();
        }
        top->start = 0;
        run0 += 1;        // the run is counted from the first pulse's cycle on, as before
    }
    if (blocked) cap = 0;
    auto t0 = std::chrono::steady_clock::now();
    std::clock_t c0 = std::clock();
    bool done = false;
    while (cycles - run0 < cap) {
        top->clk = 0; top->eval();
        top->clk = 1; top->eval();
        ++cycles;
        if (top->done) { done = true; break; }
    }
    auto t1 = std::chrono::steady_clock::now();
    double run_cpu = double(std::clock() - c0) / CLOCKS_PER_SEC;
    unsigned long long run_cycles = cycles - run0;
    double run_s = std::chrono::duration<double>(t1 - t0).count();
    top->host_sel = 1;
    tick();
    std::ofstream out(argv[2]);
    out << "{\n  \"done\": " << (done ? "true" : "false") << ",\n";
    out << "  \"setup_blocked\": " << (blocked ? "true" : "false") << ",\n";
    out << "  \"run_cycles\": " << run_cycles << ",\n  \"run_seconds\": " << run_s << ",\n";
    out << "  \"cycles_per_s\": " << (run_s > 0 ? run_cycles / run_s : 0) << ",\n";
    out << "  \"run_cpu_seconds\": " << run_cpu << ",\n";
    out << "  \"setup_cycles\": " << setup_cycles << ",\n  \"setup_writes\": " << writes << ",\n";
    out << "  \"errors\": [";
    for (size_t i = 0; i < errors.size(); ++i) out << (i ? ", " : "") << "\"" << errors[i] << "\"";
    out << "],\n  \"regs\": [\n";
    for (size_t i = 0; i < (blocked ? 0 : reads.size()); ++i) {
        Rd &r = reads[i];
        long long v = axil_read(r.tgt == 'u' ? u[r.dev] : p[r.dev], r.off);
        out << "    [" << r.dev << ", \"" << r.tgt << "\", \"" << r.name << "\", " << v << "]"
            << (i + 1 < reads.size() ? ",\n" : "\n");
    }
    double all_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_all).count();
    out << "  ],\n  \"total_cycles\": " << cycles << ",\n  \"total_seconds\": " << all_s << "\n}\n";
    top->final();
    delete top;
    return 0;
}
