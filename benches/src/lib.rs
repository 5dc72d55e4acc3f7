//! Benchmarks of minireactor against tokio and a raw epoll loop.
