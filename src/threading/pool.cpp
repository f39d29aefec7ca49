#include "threading/pool.h"

#include <sched.h>

#include <algorithm>
#include <bit>
#include <chrono>

#include "core/error.h"
#include "core/log.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define TERN_CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define TERN_CPU_RELAX() __asm__ volatile("yield")
#else
#define TERN_CPU_RELAX() ((void)0)
#endif

namespace tern {
namespace {
// About 50-200 us of spinning before sleeping: long enough to bridge the gap between two
// matmuls of one decode step, short enough not to burn a core while idle.
constexpr int kSpinIters = 20000;
// About 10-50 us of spinning on the last tasks of a job before yielding the core.
constexpr int kWaitSpinsBeforeYield = 2000;
}  // namespace

int ThreadPool::hardware_threads() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  const unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? static_cast<int>(n) : 1;
}

ThreadPool::ThreadPool(int n_threads, ContentionPolicy policy)
    : n_threads_(n_threads < 1 ? 1 : n_threads), policy_(policy) {
  policy_.window = std::clamp(policy_.window, 1, 64);
  threads_.reserve(static_cast<size_t>(n_threads_ - 1));
  for (int w = 1; w < n_threads_; ++w) threads_.emplace_back([this, w] { worker_main(w); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    generation_.fetch_add(1, std::memory_order_release);
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

int64_t ThreadPool::run_tasks(int worker) {
  const int64_t n = n_tasks_;
  const TaskFn& fn = *fn_;
  int64_t done = 0;
  for (;;) {
    const int64_t t = next_task_.fetch_add(1, std::memory_order_relaxed);
    if (t >= n) break;
    fn(t, worker);
    ++done;
  }
  return done;
}

void ThreadPool::worker_main(int worker) {
  uint64_t seen = 0;
  for (;;) {
    // Spin, then sleep, until the generation moves.
    uint64_t g = generation_.load(std::memory_order_acquire);
    for (int i = 0; g == seen && i < kSpinIters; ++i) {
      // Past the first stretch, yield between polls: on a busy machine this hands the core to
      // the thread that will publish the next job instead of spinning against it.
      if (i < kWaitSpinsBeforeYield) {
        TERN_CPU_RELAX();
      } else {
        std::this_thread::yield();
      }
      g = generation_.load(std::memory_order_acquire);
    }
    if (g == seen) {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
      g = generation_.load(std::memory_order_acquire);
    }
    seen = g;
    if (stop_) return;
    run_tasks(worker);
    active_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

void ThreadPool::parallel_for(int64_t n_tasks, const TaskFn& fn) {
  if (n_tasks <= 0) return;
  if (n_threads_ == 1 || n_tasks == 1) {
    for (int64_t t = 0; t < n_tasks; ++t) fn(t, 0);
    return;
  }
  if (solo_left_ > 0 && std::chrono::steady_clock::now() >= solo_until_) solo_left_ = 0;  // time is up: probe
  if (solo_left_ > 0) {  // contention: the workers would only make us wait (ContentionPolicy)
    --solo_left_;
    ++solo_total_;
    for (int64_t t = 0; t < n_tasks; ++t) fn(t, 0);
    return;
  }
  n_tasks_ = n_tasks;
  fn_ = &fn;
  next_task_.store(0, std::memory_order_relaxed);
  active_.store(n_threads_ - 1, std::memory_order_relaxed);
  {
    // The lock orders the publication against a worker that is about to sleep.
    std::lock_guard<std::mutex> lock(mu_);
    generation_.fetch_add(1, std::memory_order_acq_rel);
  }
  cv_.notify_all();
  const auto run_start = std::chrono::steady_clock::now();
  const int64_t done_here = run_tasks(0);
  const std::chrono::duration<double> run_time = std::chrono::steady_clock::now() - run_start;
  // Every task is claimed; wait for workers still running theirs. If that takes long, a worker
  // was likely preempted (more runnable threads than cores): yield so it can finish instead of
  // burning the rest of our time slice.
  std::chrono::steady_clock::time_point wait_start;
  bool waited_long_enough_to_time = false;  // only waits past the spin phase are timed
  for (int spins = 0; active_.load(std::memory_order_acquire) != 0; ++spins) {
    if (spins < kWaitSpinsBeforeYield) {
      TERN_CPU_RELAX();
    } else {
      if (spins == kWaitSpinsBeforeYield) {
        wait_start = std::chrono::steady_clock::now();
        waited_long_enough_to_time = true;
      }
      std::this_thread::yield();
    }
  }
  fn_ = nullptr;
  bool long_wait = false;
  if (waited_long_enough_to_time) {
    const std::chrono::duration<double> waited = std::chrono::steady_clock::now() - wait_start;
    // Waiting out one task is normal (it may have started just before ours ended; attention
    // tasks at long contexts take milliseconds): "long" is beyond several of our own tasks.
    const double task_s = run_time.count() / static_cast<double>(std::max<int64_t>(done_here, 1));
    long_wait = waited.count() >= policy_.long_wait_s + 4.0 * task_s;
  }
  note_join(long_wait);
}

void ThreadPool::note_join(bool long_wait) {
  const uint64_t mask = policy_.window >= 64 ? ~uint64_t(0) : (uint64_t(1) << policy_.window) - 1;
  long_wait_bits_ = ((long_wait_bits_ << 1) | (long_wait ? 1u : 0u)) & mask;
  if (std::popcount(long_wait_bits_) >= policy_.strikes) {
    solo_left_ = policy_.solo_jobs;
    solo_until_ = std::chrono::steady_clock::now() +
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(policy_.solo_s));
    long_wait_bits_ = 0;
    log_debug("thread pool: ", policy_.strikes, " long joins in the last ", policy_.window,
              " jobs; running jobs on the calling thread alone for up to ", policy_.solo_jobs, " jobs or ",
              policy_.solo_s, " s");
  }
}

}  // namespace tern
