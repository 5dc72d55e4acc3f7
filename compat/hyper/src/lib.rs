//! hyper 1.x on minireactor.
