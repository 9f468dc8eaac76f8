import ArgumentParser

/// The `initlab` command: serve the API, run workers, run experiments, fetch datasets, list schemes, benchmark;
/// and the remote commands, which talk to a running server.
struct InitLabCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "initlab",
        abstract: "Neural-network initialization experiments: a service, a CLI and benchmarks.",
        subcommands: [
            ServeCommand.self, WorkerCommand.self, RunCommand.self, SchemesCommand.self, FetchCommand.self, BenchCommand.self,
            SubmitCommand.self, StatusCommand.self, WaitCommand.self, ResultCommand.self, CancelCommand.self,
            ListCommand.self, WatchCommand.self,
        ]
    )
}
