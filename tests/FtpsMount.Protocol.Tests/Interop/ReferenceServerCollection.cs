namespace FtpsMount.Protocol.Tests.Interop;

/// <summary>Tests that start reference servers run one class at a time: the machines are 2-core and each
/// server forks per connection; running them all at once only makes timeouts likelier.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ReferenceServerCollection
{
    public const string Name = "reference servers";
}
