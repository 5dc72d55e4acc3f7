//! The devone character device, awaited through minireactor.
