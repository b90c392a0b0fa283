using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using FtpsMount.Protocol.Control;
using FtpsMount.Protocol.Data;
using FtpsMount.Protocol.Listing;
using Xunit.Abstractions;

namespace FtpsMount.Protocol.Tests.Fuzz;

/// <summary>
/// Fuzzes the reply reader (and what is parsed out of replies: FEAT, PASV, EPSV, MLST) and the listing parsers (MLSD,
/// Unix, DOS, auto-detect) with seeded mutations of real server output (<see cref="FuzzInputs"/>). The contract checked
/// on every input: the reply reader either returns well-formed replies or throws <see cref="FtpProtocolException"/> /
/// <see cref="FtpConnectionException"/>; listing parsers never throw and every entry keeps the <see cref="FtpEntry"/>
/// name contract (no "", ".", "..", '/', NUL, CR, LF; sizes ≥ 0); nothing takes longer than <see cref="SlowInput"/>.
/// </summary>
/// <remarks>
/// <para>CI runs <see cref="DefaultIterations"/> inputs per target with a fixed seed. A longer run:
/// <c>FTPSMOUNT_FUZZ_ITERATIONS=2000000 FTPSMOUNT_FUZZ_SEED=$RANDOM dotnet test tests/FtpsMount.Protocol.Tests
/// --filter FullyQualifiedName~Fuzz</c> (see README, "Reliability drills").</para>
/// <para>An input that breaks the contract is written to <c>fuzz-found/TARGET/SHA.bin</c> under the test output
/// directory (or <c>FTPSMOUNT_FUZZ_FOUND</c>); the failure names the file. Copy it to <c>Fuzz/Corpus/TARGET/</c> and it
/// becomes a permanent regression case (<see cref="Regression_corpus_inputs_keep_the_contract"/>).</para>
/// </remarks>
public sealed class ParserFuzzTests(ITestOutputHelper output)
{
    public const int DefaultIterations = 20_000;
    public const int DefaultSeed = 8_2026_11;
    private static readonly TimeSpan SlowInput = TimeSpan.FromSeconds(2);
    private static readonly DateTimeOffset Now = new(2026, 1, 2, 12, 0, 0, TimeSpan.Zero);

    public static readonly string[] Targets = ["reply", "mlsd", "unix", "dos", "auto", "pasv", "epsv", "mlst"];

    private static int Iterations => Environment.GetEnvironmentVariable("FTPSMOUNT_FUZZ_ITERATIONS") is { Length: > 0 } v
        ? int.Parse(v, CultureInfo.InvariantCulture)
        : DefaultIterations;

    private static int Seed => Environment.GetEnvironmentVariable("FTPSMOUNT_FUZZ_SEED") is { Length: > 0 } v
        ? int.Parse(v, CultureInfo.InvariantCulture)
        : DefaultSeed;

    public static TheoryData<string> TargetData() => new(Targets);

    [Theory]
    [MemberData(nameof(TargetData))]
    public async Task Generated_inputs_keep_the_contract(string target)
    {
        var seed = Seed + Array.IndexOf(Targets, target);
        var inputs = new FuzzInputs(seed);
        var iterations = Iterations;
        long bytes = 0;
        var outcomes = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < iterations; i++)
        {
            var input = Generate(inputs, target);
            bytes += input.Length;
            string outcome;
            var sw = Stopwatch.StartNew();
            try
            {
                outcome = await CheckAsync(target, input);
            }
            catch (Exception e)
            {
                var saved = Save(target, input);
                throw new Xunit.Sdk.XunitException(
                    $"fuzz {target} (seed {seed}, input {i}) broke the contract: {e.GetType().Name}: {e.Message}\ninput saved to {saved}; copy it to tests/FtpsMount.Protocol.Tests/Fuzz/Corpus/{target}/ to keep it as a regression case\n{e}");
            }

            if (sw.Elapsed > SlowInput)
            {
                var saved = Save(target, input);
                throw new Xunit.Sdk.XunitException($"fuzz {target} (seed {seed}, input {i}) took {sw.Elapsed.TotalSeconds:F1}s (limit {SlowInput.TotalSeconds}s); saved to {saved}");
            }

            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
        }

        output.WriteLine($"FIGURE fuzz {target}: {iterations} inputs fuzzed ({bytes} bytes), seed {seed}; outcomes: " +
                         string.Join(", ", outcomes.OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => $"{o.Key} {o.Value}")));
        // The generator must reach both sides of every parser, or the run proves little.
        Assert.True(outcomes.Count >= 2, $"fuzz {target}: every input ended the same way ({string.Join(", ", outcomes.Keys)})");
    }

    public static TheoryData<string, string> CorpusData()
    {
        var data = new TheoryData<string, string>();
        var root = Path.Combine(AppContext.BaseDirectory, "Fuzz", "Corpus");
        foreach (var target in Targets)
        {
            var dir = Path.Combine(root, target);
            foreach (var file in Directory.Exists(dir) ? Directory.GetFiles(dir).Order(StringComparer.Ordinal).ToArray() : [])
            {
                data.Add(target, Path.GetFileName(file));
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(CorpusData))]
    public async Task Regression_corpus_inputs_keep_the_contract(string target, string file)
    {
        var input = await File.ReadAllBytesAsync(Path.Combine(AppContext.BaseDirectory, "Fuzz", "Corpus", target, file));
        var outcome = await CheckAsync(target, input);
        output.WriteLine($"{target}/{file}: {outcome}");
    }

    [Fact]
    public void The_corpus_has_a_case_for_every_target()
    {
        var cases = CorpusData().Select(row => (string)row[0]).ToHashSet(StringComparer.Ordinal);
        Assert.All(Targets, t => Assert.Contains(t, cases));
    }

    private static byte[] Generate(FuzzInputs inputs, string target)
    {
        if (target == "reply")
        {
            return inputs.ReplyBytes();
        }

        var seeds = target switch
        {
            "mlsd" or "mlst" => FuzzInputs.MlsdSeeds,
            "unix" => FuzzInputs.UnixSeeds,
            "dos" => FuzzInputs.DosSeeds,
            "auto" => [.. FuzzInputs.UnixSeeds, .. FuzzInputs.DosSeeds],
            _ => FuzzInputs.PassiveSeeds,
        };

        // A listing is several lines; one in eight inputs is raw garbage instead.
        if (inputs.Next(8) == 0)
        {
            return inputs.Garbage();
        }

        var lines = 1 + inputs.Next(target is "pasv" or "epsv" ? 1 : 6);
        var text = new StringBuilder();
        for (var l = 0; l < lines; l++)
        {
            var line = inputs.Next(4) == 0 ? inputs.Pick(seeds) : inputs.Mutate(inputs.Pick(seeds));
            text.Append(line).Append(inputs.Next(3) == 0 ? "\n" : "\r\n");
        }

        return Encoding.UTF8.GetBytes(text.ToString());
    }

    /// <summary>Runs one input through its parser and checks the contract; returns a short outcome name.</summary>
    internal static async Task<string> CheckAsync(string target, byte[] input)
    {
        switch (target)
        {
            case "reply":
                return await CheckRepliesAsync(input);
            case "pasv":
            case "epsv":
                return CheckPassive(target, Encoding.UTF8.GetString(input));
            case "mlst":
                return CheckMlst(Encoding.UTF8.GetString(input));
            default:
                var format = target switch
                {
                    "mlsd" => ListingFormat.Mlsd,
                    "unix" => ListingFormat.Unix,
                    "dos" => ListingFormat.Dos,
                    _ => ListingFormat.Auto,
                };
                return CheckListing(Encoding.UTF8.GetString(input), format);
        }
    }

    private static async Task<string> CheckRepliesAsync(byte[] input)
    {
        var reader = new ReplyReader(new FuzzInputs(input.Length).Chunked(input), Encoding.Latin1);
        var replies = 0;
        using var timeout = new CancellationTokenSource(SlowInput);
        try
        {
            while (true)
            {
                var reply = await reader.ReadReplyAsync(timeout.Token);
                replies++;
                Assert.InRange(reply.Code, 100, 599);
                Assert.NotEmpty(reply.Lines);
                Assert.True(reply.Lines.Count <= ReplyReader.DefaultMaxReplyLines, "reply line limit");
                Assert.All(reply.Lines, l => Assert.True(l.Length <= ReplyReader.DefaultMaxLineBytes, "reply line length limit"));
                Assert.True(replies <= input.Length, "more replies than bytes");
                // What the session parses out of replies must hold the same contract.
                _ = FtpFeatures.Parse(reply);
                CheckPassiveReply(reply, epsv: true);
                CheckPassiveReply(reply, epsv: false);
                CheckMlstEntry(MlsdParser.ParseMlstReply(reply.Lines));
            }
        }
        catch (FtpProtocolException)
        {
            return replies == 0 ? "protocol-error" : "replies-then-protocol-error";
        }
        catch (FtpConnectionException)
        {
            return replies == 0 ? "eof" : "replies-then-eof";
        }
    }

    private static string CheckPassive(string target, string text)
    {
        var reply = new FtpReply(target == "epsv" ? 229 : 227, [text.TrimEnd('\r', '\n')]);
        return CheckPassiveReply(reply, target == "epsv");
    }

    private static string CheckPassiveReply(FtpReply reply, bool epsv)
    {
        try
        {
            if (epsv)
            {
                Assert.InRange(PassiveReplyParser.ParseEpsv(reply), 1, 65535);
            }
            else
            {
                var endpoint = PassiveReplyParser.ParsePasv(reply);
                Assert.InRange(endpoint.Port, 1, 65535);
            }

            return "parsed";
        }
        catch (FtpProtocolException)
        {
            return "refused";
        }
    }

    private static string CheckMlst(string text)
    {
        var lines = text.Split('\n').Select(l => " " + l.TrimEnd('\r')).Prepend("250-Listing").Append("250 End").ToArray();
        var entry = MlsdParser.ParseMlstReply(lines);
        CheckMlstEntry(entry);
        return entry is null ? "no-entry" : "entry";
    }

    private static void CheckMlstEntry(MlstEntry? entry)
    {
        if (entry is not null)
        {
            AssertSafe(entry.Entry);
            Assert.DoesNotContain('\0', entry.Path);
            Assert.DoesNotContain('\r', entry.Path);
            Assert.DoesNotContain('\n', entry.Path);
        }
    }

    private static string CheckListing(string text, ListingFormat format)
    {
        var lines = text.Split('\n');
        var result = ListingParser.Parse(lines, format, Now);
        Assert.Equal(lines.Length, result.Entries.Count + result.Skipped + result.RejectedCount);
        Assert.All(result.Entries, e => AssertSafe(e, dos: format == ListingFormat.Dos));
        Assert.True(result.Rejected.Count <= ListingParser.MaxRejectedSamples);
        Assert.All(result.Rejected, sample =>
        {
            Assert.DoesNotContain(sample, char.IsControl);
            Assert.True(sample.Length <= (ListingParser.MaxSampleLength * 4) + 8, "rejected sample is bounded");
        });
        return result.Entries.Count > 0 ? (result.RejectedCount > 0 ? "mixed" : "parsed") : (result.RejectedCount > 0 ? "rejected" : "skipped");
    }

    private static void AssertSafe(FtpEntry e, bool dos = false)
    {
        Assert.False(string.IsNullOrEmpty(e.Name), "empty name");
        Assert.NotEqual(".", e.Name);
        Assert.NotEqual("..", e.Name);
        Assert.DoesNotContain('/', e.Name);
        Assert.DoesNotContain('\0', e.Name);
        Assert.DoesNotContain('\r', e.Name);
        Assert.DoesNotContain('\n', e.Name);
        if (dos)
        {
            Assert.DoesNotContain('\\', e.Name);
        }

        Assert.True(e.Size is null or >= 0, $"negative size {e.Size}");
        Assert.True(e.UnixMode is null or >= 0 and <= 0xFFFF, $"mode {e.UnixMode}");
        if (e.LinkTarget is { } link)
        {
            Assert.DoesNotContain('\0', link);
        }
    }

    private static string Save(string target, byte[] input)
    {
        var root = Environment.GetEnvironmentVariable("FTPSMOUNT_FUZZ_FOUND") is { Length: > 0 } dir
            ? dir
            : Path.Combine(AppContext.BaseDirectory, "fuzz-found");
        var path = Path.Combine(root, target, Convert.ToHexStringLower(SHA256.HashData(input))[..16] + ".bin");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, input);
        return path;
    }
}
