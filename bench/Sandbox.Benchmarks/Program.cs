using BenchmarkDotNet.Running;

// In-process costs (BenchmarkDotNet). The comparative boot/footprint harness is `sandbox bench`.
// Run: dotnet run -c Release --project bench/Sandbox.Benchmarks -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
