#include <cstdio>
int main() { std::puts("tern: under construction"); return 0; }
