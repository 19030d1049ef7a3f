// The tests compare CQE results with the library's errno table (internal, visible to the tests): a wrong constant
// there would make a test that checks a real kernel result fail. E keeps the short spelling the tests use (E.EBADF).
global using E = IoUring.Interop.Errno;
