using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Primitives;

namespace Switchboard.Server.Tests;

/// <summary>docs/configuration.md cannot drift: every key the hub reads is documented with the default it really has.</summary>
public sealed partial class ConfigurationReferenceTests
{
    private static readonly string Root = Path.GetFullPath(typeof(ConfigurationReferenceTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepositoryRoot").Value!);
    private static readonly JsonSerializerOptions Json = new() { Converters = { new JsonStringEnumConverter() } };

    /// <summary>Settings that make the reader visit the keys of optional parts (an API key, a JWT section).</summary>
    private static readonly Dictionary<string, string?> WithAuth = new()
    {
        ["Switchboard:Auth:ApiKeys:0:Name"] = "k",
        ["Switchboard:Auth:ApiKeys:0:Hash"] = new string('a', 64),
        ["Switchboard:Auth:ApiKeys:0:Scopes:0"] = "admin",
        ["Switchboard:Auth:Jwt:Secret"] = new string('s', 48),
        ["Switchboard:Auth:Jwt:Issuer"] = "issuer",
        ["Switchboard:Auth:Jwt:Audience"] = "audience",
    };

    [Fact]
    public void Every_key_the_hub_reads_is_documented_and_every_documented_key_is_read()
    {
        var read = new HashSet<string>(StringComparer.Ordinal);
        Read([], read);
        Read(WithAuth, read);
        var documented = ConfigurationReference.All.Select(k => k.Key).ToHashSet(StringComparer.Ordinal);
        Assert.Equal(documented.Count, ConfigurationReference.All.Count());
        var undocumented = read.Where(k => !documented.Contains(k)).Order().ToList();
        Assert.True(undocumented.Count == 0, "read but not in ConfigurationReference: " + string.Join(", ", undocumented));
        // Keys of list entries are read only when an entry exists; the others must all be read with nothing set.
        var neverRead = documented.Where(k => !read.Contains(k) && !k.Contains(":N:", StringComparison.Ordinal)).Order().ToList();
        Assert.True(neverRead.Count == 0, "documented but never read: " + string.Join(", ", neverRead));
    }

    [Fact]
    public void Every_documented_default_is_the_default_the_hub_has()
    {
        var baseline = JsonSerializer.Serialize(ServerConfiguration.Read(new ConfigurationBuilder().Build()), Json);
        var checkedCount = 0;
        foreach (var key in ConfigurationReference.All.Where(k => k.Default.Length > 0 && !k.Default.StartsWith('(')))
        {
            var configuration = new ConfigurationBuilder().AddInMemoryCollection([new($"Switchboard:{key.Key}", key.Default)]).Build();
            var options = JsonSerializer.Serialize(ServerConfiguration.Read(configuration), Json);
            Assert.True(baseline == options, $"Switchboard:{key.Key} = {key.Default} (the documented default) does not give the hub's default");
            checkedCount++;
        }
        Assert.True(checkedCount > 40, $"only {checkedCount} defaults checked");
    }

    [Fact]
    public void Docs_configuration_md_is_what_the_reference_generates()
    {
        var path = Path.Combine(Root, "docs", "configuration.md");
        var expected = ConfigurationReference.ToMarkdown();
        if (Environment.GetEnvironmentVariable("SWITCHBOARD_WRITE_DOCS") == "1")
        {
            File.WriteAllText(path, expected);
        }
        Assert.True(File.Exists(path), $"{path} is missing: run SWITCHBOARD_WRITE_DOCS=1 dotnet test tests/Switchboard.Server.Tests --filter ConfigurationReferenceTests");
        Assert.True(File.ReadAllText(path) == expected, $"{path} is out of date: run SWITCHBOARD_WRITE_DOCS=1 dotnet test tests/Switchboard.Server.Tests --filter ConfigurationReferenceTests");
    }

    private static void Read(Dictionary<string, string?> settings, HashSet<string> read)
    {
        var inner = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        ServerConfiguration.Read(new Recording(inner, "", read));
    }

    [GeneratedRegex(@":\d+(?=:|$)")]
    private static partial Regex ListIndex();

    /// <summary>Sections the reader only tests for presence (Exists reads their value); not keys.</summary>
    private static readonly HashSet<string> Sections = ["Auth:Jwt"];

    /// <summary>A configuration that notes every value read (by key below Switchboard:, list indexes as N).</summary>
    private sealed class Recording(IConfiguration inner, string path, HashSet<string> read) : IConfigurationSection
    {
        private void Note(string full)
        {
            if (!full.StartsWith("Switchboard:", StringComparison.Ordinal))
            {
                return;
            }
            // "Auth:ApiKeys:0:Scopes:0" is the list Auth:ApiKeys:N:Scopes.
            var key = ListIndex().Replace(full["Switchboard:".Length..], ":N");
            key = key.EndsWith(":N", StringComparison.Ordinal) ? key[..^2] : key;
            if (!Sections.Contains(key))
            {
                read.Add(key);
            }
        }

        private string Child(string key) => path.Length == 0 ? key : $"{path}:{key}";

        public string? this[string key]
        {
            get
            {
                Note(Child(key));
                return inner[key];
            }
            set => inner[key] = value;
        }

        public string Key => inner is IConfigurationSection section ? section.Key : "";

        public string Path => path;

        public string? Value
        {
            get
            {
                Note(path);
                return (inner as IConfigurationSection)?.Value;
            }
            set => ((IConfigurationSection)inner).Value = value;
        }

        public IEnumerable<IConfigurationSection> GetChildren() => inner.GetChildren().Select(c => new Recording(c, c.Path, read));

        public IChangeToken GetReloadToken() => inner.GetReloadToken();

        public IConfigurationSection GetSection(string key) => new Recording(inner.GetSection(key), Child(key), read);
    }
}
