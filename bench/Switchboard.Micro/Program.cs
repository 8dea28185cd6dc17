using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

// Every benchmark in this assembly (or those --filter picks), each in this process (no generated project to restore
// and build: the machine may have no network) with a short job: 3 warm-ups, 8 measured iterations. BenchmarkDotNet's
// own arguments work as usual: --filter *FanOut*, --job dry (one pass, a check that everything runs), --list flat.
var config = DefaultConfig.Instance
    .AddJob(Job.Default.WithWarmupCount(3).WithIterationCount(8).WithToolchain(InProcessEmitToolchain.Instance).AsDefault())
    .WithOptions(ConfigOptions.DisableOptimizationsValidator);
var switcher = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly);
if (args.Length == 0)
{
    switcher.RunAll(config);
}
else
{
    switcher.Run(args, config);
}
