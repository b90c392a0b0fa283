using FtpsMount.Core.Writing;
using Xunit.Abstractions;

namespace FtpsMount.Core.Tests.Writing;

/// <summary>
/// Random sequences of opens, writes, truncations, reads, flushes and closes on a few files, applied to the write path
/// (over the scripted server) and to an in-memory model; reads must agree at once, the server after every flush and
/// close. Small memory limit and stream threshold, so spilling, streaming and stream conversion all happen.
/// </summary>
public sealed class WriteModelTests(ITestOutputHelper output) : WriteModelTestBase(output)
{
}

/// <summary>The same with write-back (20 ms): closed files upload in the background while the sequence goes on (and
/// reopens join them); the server is compared after flushes and after a final drain.</summary>
public sealed class WriteBackModelTests(ITestOutputHelper output) : WriteModelTestBase(output)
{
    protected override TimeSpan? WriteBack => TimeSpan.FromMilliseconds(20);
}

public abstract class WriteModelTestBase(ITestOutputHelper output) : ScriptedWriteTestBase(output)
{
    private const int MaxSize = 400_000;

    protected virtual TimeSpan? WriteBack => null;

    protected override WriteOptions CreateWriteOptions() =>
        new() { StagingDirectory = StagingDirectory, MemoryStagingLimit = 16 * 1024, WriteBack = WriteBack };

    protected override Testing.Scripted.ScriptedServerOptions CreateServerOptions()
    {
        var options = base.CreateServerOptions();
        options.EnableHashCommands = true;
        options.Features.Add("HASH SHA-256*;SHA-1;MD5;CRC32");
        return options;
    }

    protected override long StreamThreshold => 32 * 1024;

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    public Task Random_operations_agree_with_a_model(int seed) => RunAsync(async () =>
    {
        var random = new Random(seed);
        string[] paths = ["/d/m1", "/d/m2"];
        var model = new Dictionary<string, List<byte>>();      // content as written (what the server must get)
        var open = new Dictionary<string, List<FileWriter>>();
        foreach (var path in paths)
        {
            var initial = RandomBytes(random.Next(0, 100_000));
            Server.FileSystem.AddFile(path, initial);
            model[path] = [.. initial];
            open[path] = [];
        }

        var trace = new List<string>();
        try
        {
            for (var step = 0; step < 150; step++)
            {
                var path = paths[random.Next(paths.Length)];
                var content = model[path];
                var writers = open[path];
                var choice = random.Next(100);
                if (writers.Count == 0 || choice < 8)
                {
                    var truncate = random.Next(4) == 0;
                    trace.Add($"open {path} truncate={truncate}");
                    var remoteSize = Writes.TryGetLength(path, out var staged) ? staged : Server.FileSystem.ReadFile(path).Length;
                    writers.Add(Writes.OpenWriter(path, remoteSize, truncate, isNew: false));
                    if (truncate)
                    {
                        content.Clear();
                    }

                    continue;
                }

                var writer = writers[random.Next(writers.Count)];
                if (choice < 50)
                {
                    // Mostly sequential appends (streaming), sometimes anywhere.
                    var offset = random.Next(3) == 0 ? random.Next(0, Math.Max(1, Math.Min(MaxSize, content.Count + 20_000))) : content.Count;
                    var data = RandomBytes(random.Next(1, 40_000));
                    trace.Add($"write {path} at {offset} len {data.Length}");
                    await writer.WriteAsync(offset, data, Ct);
                    while (content.Count < offset + data.Length)
                    {
                        content.Add(0);
                    }

                    for (var i = 0; i < data.Length; i++)
                    {
                        content[offset + i] = data[i];
                    }
                }
                else if (choice < 58)
                {
                    var length = random.Next(0, Math.Min(MaxSize, content.Count + 30_000));
                    trace.Add($"setlength {path} {length}");
                    await writer.SetLengthAsync(length, Ct);
                    if (length < content.Count)
                    {
                        content.RemoveRange(length, content.Count - length);
                    }

                    while (content.Count < length)
                    {
                        content.Add(0);
                    }
                }
                else if (choice < 80)
                {
                    var offset = random.Next(0, content.Count + 10);
                    var buffer = new byte[random.Next(1, 50_000)];
                    trace.Add($"read {path} at {offset} len {buffer.Length}");
                    var n = await writer.ReadAsync(offset, buffer, Ct);
                    var expected = content.Skip(offset).Take(buffer.Length).ToArray();
                    Assert.Equal(expected.Length, n);
                    Assert.Equal(expected, buffer.AsSpan(0, n).ToArray());
                    Assert.Equal(content.Count, writer.Length);
                }
                else if (choice < 88)
                {
                    trace.Add($"flush {path}");
                    await writer.FlushAsync(Ct);
                    Assert.Equal(content.ToArray(), Server.FileSystem.ReadFile(path));
                }
                else
                {
                    trace.Add($"close {path}");
                    await writer.CloseAsync(Ct);
                    writers.Remove(writer);
                    if (WriteBack is null)
                    {
                        Assert.Equal(content.ToArray(), Server.FileSystem.ReadFile(path));
                    }
                }
            }

            foreach (var path in paths)
            {
                foreach (var writer in open[path])
                {
                    await writer.CloseAsync(Ct);
                }
            }

            Assert.Empty(await Writes.DrainAsync(TimeSpan.FromSeconds(60), Ct));
            foreach (var path in paths)
            {
                Assert.Equal(model[path].ToArray(), Server.FileSystem.ReadFile(path));
            }

            Assert.Equal(0, Writes.PendingUploads);
            Assert.Empty(StagedFiles());
            Output.WriteLine($"seed {seed}: {Writes.Statistics}");
            Assert.True(Writes.Statistics.ChecksumVerifications > 0);
        }
        catch
        {
            Output.WriteLine(string.Join(Environment.NewLine, trace.TakeLast(40)));
            throw;
        }
    });
}
