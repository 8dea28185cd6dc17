using System.Diagnostics;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.FSharp.Core;
using Xunit.Abstractions;

namespace Switchboard.Fuzz.Tests.Support;

/// <summary>What one fuzz run did: every input was either accepted or refused with a documented error.</summary>
internal sealed record FuzzReport(string Target, int Inputs, int Accepted, int Refused, TimeSpan Slowest, TimeSpan Elapsed, int Seed)
{
    public override string ToString() => $"{Target}: {Inputs:N0} inputs ({Accepted:N0} accepted, {Refused:N0} refused), slowest {Slowest.TotalMilliseconds:0.0} ms, {Elapsed.TotalSeconds:0.0} s, seed {Seed}";
}

/// <summary>
/// Runs a target over many inputs on a worker thread while the test watches it: an input that throws anything but
/// the documented error is a crash, one that runs past <see cref="FuzzSettings.PerInput"/> is a hang. Failures name
/// the input (escaped) and the seed that replays them (<c>SWITCHBOARD_FUZZ_SEED</c>).
/// </summary>
internal static class Fuzzer
{
    private const int MaxShown = 5;

    /// <summary>Mutation (or any generator over <see cref="Random"/>) fuzzing of one target.</summary>
    public static async Task<FuzzReport> RunAsync<TInput>(ITestOutputHelper output, string target, Func<Random, TInput> next, Func<TInput, bool> run,
        Func<Exception, bool> documented, Func<TInput, string> show, int? inputs = null)
    {
        var count = inputs ?? FuzzSettings.Mutations;
        var seed = FuzzSettings.Seed(target);
        var watch = new Watch(o => show((TInput)o!));
        var crashes = new List<string>();
        int accepted = 0, refused = 0;
        var total = Stopwatch.StartNew();
        var loop = Task.Factory.StartNew(() =>
        {
            var random = new Random(seed);
            for (var i = 0; i < count; i++)
            {
                var input = next(random);
                watch.Begin(input);
                try
                {
                    if (run(input))
                    {
                        accepted++;
                    }
                    else
                    {
                        refused++;
                    }
                }
                catch (Exception ex) when (documented(ex))
                {
                    refused++;
                }
                catch (Exception ex)
                {
                    if (crashes.Count < MaxShown)
                    {
                        crashes.Add($"input {i}: {show(input)}\n  -> {ex.GetType().FullName}: {ex.Message}\n{ex.StackTrace}");
                    }
                    refused++;
                }
                watch.End(i);
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        await WatchAsync(loop, watch, target, seed);
        var report = new FuzzReport(target, accepted + refused, accepted, refused, watch.Slowest, total.Elapsed, seed);
        output.WriteLine(report.ToString());
        Assert.True(crashes.Count == 0, $"{target} (seed {seed}): undocumented exceptions\n{string.Join("\n", crashes)}");
        Assert.True(watch.Slowest <= FuzzSettings.PerInput, $"{target} (seed {seed}): input took {watch.Slowest.TotalMilliseconds:0} ms: {watch.SlowestInput}");
        Assert.Equal(count, report.Inputs);
        return report;
    }

    /// <summary>An FsCheck property over generated inputs, with the same time bound per input.</summary>
    public static async Task<int> PropertyAsync<T>(ITestOutputHelper output, string target, Gen<T> generator, Action<T> property, int? tests = null)
    {
        var count = tests ?? FuzzSettings.Properties;
        var seed = FuzzSettings.Seed(target);
        var watch = new Watch(o => o?.ToString() ?? "null");
        var calls = 0;
        var total = Stopwatch.StartNew();
        var config = Config.QuickThrowOnFailure.WithMaxTest(count).WithQuietOnSuccess(true).WithName(target)
            .WithReplay(FSharpOption<Replay>.Some(new Replay(new FsCheck.Rnd((ulong)seed), FSharpOption<int>.None)));
        var check = Task.Factory.StartNew(() => Check.One(config, Prop.ForAll(generator.ToArbitrary(), (T value) =>
        {
            watch.Begin(value);
            property(value);
            watch.End(calls++);
        })), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            await WatchAsync(check, watch, target, seed);
        }
        catch (Exception ex) when (ex is not Xunit.Sdk.XunitException)
        {
            Assert.Fail($"{target} (seed {seed}): {ex.Message}");
        }
        output.WriteLine($"{target}: {calls:N0} generated inputs, slowest {watch.Slowest.TotalMilliseconds:0.0} ms, {total.Elapsed.TotalSeconds:0.0} s, seed {seed}");
        Assert.True(watch.Slowest <= FuzzSettings.PerInput, $"{target} (seed {seed}): input took {watch.Slowest.TotalMilliseconds:0} ms: {watch.SlowestInput}");
        Assert.Equal(count, calls);
        return calls;
    }

    /// <summary>Waits for the worker, checking four times a second that no single input runs away.</summary>
    private static async Task WatchAsync(Task worker, Watch watch, string target, int seed)
    {
        var hang = FuzzSettings.PerInput * 5;
        while (!worker.IsCompleted)
        {
            await Task.WhenAny(worker, Task.Delay(250));
            if (watch.Running(out var elapsed, out var input) && elapsed > hang)
            {
                Assert.Fail($"{target} (seed {seed}): hung for {elapsed.TotalSeconds:0} s on input {input}");
            }
        }
        await worker;
    }

    /// <summary>Escapes an input for a failure message: printable ASCII as is, everything else as \xNN or \uNNNN.</summary>
    public static string Show(byte[] bytes) => Escape(bytes.Length, i => bytes[i] is >= 0x20 and < 0x7f ? ((char)bytes[i]).ToString() : $"\\x{bytes[i]:x2}");

    public static string Show(string text) => Escape(text.Length, i => text[i] is >= ' ' and < '\u007f' ? text[i].ToString() : $"\\u{(int)text[i]:x4}");

    private static string Escape(int length, Func<int, string> element)
    {
        var builder = new StringBuilder("\"");
        for (var i = 0; i < Math.Min(length, 400); i++)
        {
            builder.Append(element(i));
        }
        return builder.Append(length > 400 ? $"\"… ({length} in all)" : "\"").ToString();
    }

    /// <summary>The input in progress and the slowest so far, shared between the worker and the watching test.</summary>
    private sealed class Watch(Func<object?, string> show)
    {
        private readonly object _gate = new();
        private object? _input;
        private long _started;

        public TimeSpan Slowest { get; private set; }
        public string SlowestInput { get; private set; } = "";

        public void Begin(object? input)
        {
            lock (_gate)
            {
                _input = input;
                _started = Stopwatch.GetTimestamp();
            }
        }

        public void End(int index)
        {
            lock (_gate)
            {
                var elapsed = Stopwatch.GetElapsedTime(_started);
                if (elapsed > Slowest)
                {
                    Slowest = elapsed;
                    SlowestInput = elapsed > FuzzSettings.PerInput ? $"input {index}: {show(_input)}" : "";
                }
                _started = 0;
            }
        }

        public bool Running(out TimeSpan elapsed, out string input)
        {
            lock (_gate)
            {
                elapsed = _started == 0 ? TimeSpan.Zero : Stopwatch.GetElapsedTime(_started);
                input = _started == 0 ? "" : show(_input);
                return _started != 0;
            }
        }
    }
}
